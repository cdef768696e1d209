/**
 * How the protocol servers write what they do not wait for (a response, a
 * batch of replies): `write(frame)`, with a failure going to `onFailed`.
 * framed()'s writer hands back one settled promise while frames are
 * buffered, so only a promise other than the one before gets a catch: no
 * promise more per frame.
 */
export function writeAhead<T>(writer: WritableStreamDefaultWriter<T>, onFailed: (error: unknown) => void): (frame: T) => void {
  let last: Promise<void> | undefined;
  return (frame) => {
    const p = writer.write(frame);
    if (p === last) return;
    last = p;
    p.catch(onFailed);
  };
}
