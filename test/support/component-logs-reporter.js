// Prints the last lines of each control-plane component's log when a test failed, so a
// failure caused by the cluster (not the code under test) shows its cause in CI output.
export default class ComponentLogsReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests > 0 || results.numRuntimeErrorTestSuites > 0;
    if (!failed) return;
    for (const plane of [globalThis.__WSO2_FRONTEND_CONTROL_PLANE__, globalThis.__WSO2_FRONTEND_REAL_NODE_PLANE__]) {
      if (plane) console.log(`\nControl-plane component logs (tests failed, ${plane.dir}):\n${plane.logTails(60)}`);
    }
  }
}
