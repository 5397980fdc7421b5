/**
 * Key hashing shared by the hash and ip-hash policies (and server seeds): fast,
 * non-cryptographic, allocation-free. Keys are hashed over a range of a string so callers
 * never slice (no substring per pick).
 */

/**
 * FNV-1a, 32 bits, over the UTF-16 code units of `text[start, end)`. Equals the standard
 * byte-wise FNV-1a for ASCII keys (header values, cookies, paths, addresses). Returns an
 * unsigned 32-bit integer.
 */
export function fnv1a(text: string, start = 0, end = text.length): number {
  let h = 0x811c9dc5
  for (let i = start; i < end; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/**
 * The hash of a request key: FNV-1a folded to 30 bits, so it is a V8 small integer and
 * returning it from a key function never allocates a heap number (a uint32 above 2^30
 * would). 30 bits are plenty: keys only select a server through the Murmur mix below.
 */
export function keyHash(text: string, start = 0, end = text.length): number {
  return fnv1a(text, start, end) >>> 2
}

/** Maps an unsigned 32-bit hash into the open interval (0, 1). */
export function toUnitInterval(hash: number): number {
  return (hash + 0.5) * 2.3283064365386963e-10 // 2^-32
}

/*
 * MurmurHash3 (x86, 32-bit) of the 4-byte block `key` under `seed`, to score a key against a
 * server: `scoreHash(premixKey(key), seed)`. Split in two so the key's half runs once per pick
 * and only the seed's half once per candidate. FNV-1a alone has weak low bits on short keys;
 * Murmur's finalizer gives the full avalanche rendezvous hashing needs.
 */
export function premixKey(keyHash: number): number {
  const k = Math.imul(keyHash, 0xcc9e2d51)
  return Math.imul((k << 15) | (k >>> 17), 0x1b873593)
}

export function scoreHash(mixedKey: number, seed: number): number {
  let h = seed ^ mixedKey
  h = (h << 13) | (h >>> 19)
  h = (Math.imul(h, 5) + 0xe6546b64) ^ 4 // ^ 4: the block length, as Murmur does
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}
