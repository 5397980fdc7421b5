/**
 * A streaming string replacer for response bodies: a TransformStream over text that replaces
 * fixed strings, even when one is split across two chunks (it holds back just enough of each
 * chunk's end to see a match that continues in the next). Nothing is buffered beyond that.
 */
export function replaceStream(replacements: ReadonlyArray<readonly [string, string]>): TransformStream<string, string> {
  const longest = Math.max(...replacements.map(([from]) => from.length))
  let carry = ''
  const apply = (text: string): string => replacements.reduce((acc, [from, to]) => acc.split(from).join(to), text)
  return new TransformStream<string, string>({
    transform(chunk, controller) {
      const text = carry + chunk
      // Hold back the last longest-1 characters: a match may start there. Replace within the
      // rest, but never cut a match in half: move the cut before any match that spans it.
      let cut = Math.max(0, text.length - (longest - 1))
      for (const [from] of replacements) {
        let at = text.indexOf(from, Math.max(0, cut - from.length + 1))
        while (at >= 0 && at < cut) {
          if (at + from.length > cut) cut = at
          at = text.indexOf(from, at + 1)
        }
      }
      carry = text.slice(cut)
      if (cut > 0) controller.enqueue(apply(text.slice(0, cut)))
    },
    flush(controller) {
      if (carry !== '') controller.enqueue(apply(carry))
    },
  })
}
