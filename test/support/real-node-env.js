// For the files in test/realnode: kubectl and the client helpers talk to the real-node plane.
process.env.KUBECONFIG = process.env.WSO2_FRONTEND_REAL_KUBECONFIG;
