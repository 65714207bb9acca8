export default async function globalTeardown() {
  await globalThis.__WSO2_FRONTEND_CONTROL_PLANE__?.stop();
}
