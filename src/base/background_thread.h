#pragma once

namespace lambent {

// Marks the calling thread as background work (the usage ledger's writer, the log writer):
// named `name` for top and perf, SCHED_BATCH so that waking it never preempts the io thread
// or a function's runtime, and niced so that on a machine with few busy cores it takes the
// time they leave. It still gets its share when they are all busy: its backlog cannot grow
// without bound.
void MarkBackgroundThread(const char* name);

}  // namespace lambent
