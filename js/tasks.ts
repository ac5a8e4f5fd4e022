// Yielding the page's main thread between pieces of work. A websocket message
// (a new row, a status) is handled only between tasks: work that runs as one
// long task (vega compiling and drawing a panel of charts, 150-700 ms) holds
// every message that arrives meanwhile.

/** A promise resolved in a task of its own, after what the page has queued (a timer: fake timers drive it in tests). */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
