// Preloaded (`node --import`) into every process the benchmark starts: when
// the orchestrator disappears (even by SIGKILL), the child terminates itself,
// so no portal, baseline or load generator is ever left running.
const parent = process.ppid;
const timer = setInterval(() => {
  let alive = true;
  try {
    process.kill(parent, 0);
  } catch {
    alive = false;
  }
  if (!alive || process.ppid !== parent) {
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), 5000).unref();
  }
}, 500);
timer.unref();
