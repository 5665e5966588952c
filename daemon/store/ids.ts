import { randomBytes } from 'node:crypto';

/**
 * ULID (https://github.com/ulid/spec): 48-bit millisecond time + 80 random bits in Crockford base32, 26 characters.
 * Lexical order is time order, so ids double as the store's sort key and as a cursor for paging. Within one
 * millisecond the random part is incremented (the spec's monotonic mode) so ids from one process never collide or
 * go backwards.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = -1;
let lastRandom = new Uint8Array(10);

export function ulid(now: number = Date.now()): string {
  if (now === lastTime) {
    increment(lastRandom);
  } else if (now < lastTime) {
    // An explicit past time (imports, tests) or a clock step back: a fresh id at that time, unique by its randomness.
    const random = new Uint8Array(randomBytes(10));
    return encodeTime(now) + encodeRandom(random);
  } else {
    lastTime = now;
    lastRandom = new Uint8Array(randomBytes(10));
    lastRandom[0] &= 0x7f; // headroom so increments within one millisecond cannot overflow the 80 bits
  }
  return encodeTime(now) + encodeRandom(lastRandom);
}

/** The millisecond timestamp an id was made at. */
export function ulidTime(id: string): number {
  let t = 0;
  for (const ch of id.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(ch);
  return t;
}

/** The smallest id at or after a time: a cursor for "results since T". */
export function ulidFloor(time: number): string {
  return encodeTime(time) + '0'.repeat(16);
}

export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

function encodeTime(time: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[time % 32] + out;
    time = Math.floor(time / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits -> 16 symbols of 5 bits, most significant first.
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out;
}

function increment(bytes: Uint8Array): void {
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 255) {
      bytes[i]++;
      return;
    }
    bytes[i] = 0;
  }
}
