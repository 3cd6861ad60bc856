/** Splits a Server-Sent Events buffer into complete events (name and data) and what is left over. */
export function takeSseEvents(buf: string): { events: { event: string; data: string }[]; rest: string } {
  const events: { event: string; data: string }[] = [];
  let i;
  while ((i = buf.indexOf('\n\n')) >= 0) {
    const block = buf.slice(0, i);
    buf = buf.slice(i + 2);
    const data = /^data: (.*)$/m.exec(block)?.[1];
    if (data !== undefined) events.push({ event: /^event: (.*)$/m.exec(block)?.[1] ?? 'message', data });
  }
  return { events, rest: buf };
}
