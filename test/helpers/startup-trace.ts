// Reading the QUICKBEAM_TRACE_STARTUP timeline (src/startup-trace.ts) out of a child process's stderr.

/** The labels of the timeline's lines, in order, and the rest of stderr (the lines that are not the timeline's). */
export function splitStartupTrace(stderr: string): { marks: string[]; other: string } {
  const marks: string[] = [];
  const other: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^quickbeam startup: +[\d.]+ +\+[\d.]+ {2}(.*)$/.exec(line);
    if (m) marks.push(m[1]!);
    else if (line !== '' && !line.startsWith('quickbeam startup:')) other.push(line);
  }
  return { marks, other: other.join('\n') };
}
