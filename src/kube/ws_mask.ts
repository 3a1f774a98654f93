/**
 * WebSocket masking (RFC 6455 §5.3) of kodama's own exec client (./ws_client.ts) in WebAssembly SIMD: every
 * frame a client sends is XORed with a fresh random 4-byte key. In JavaScript (a Uint32Array loop) that cost
 * ~0.32 CPU-s a GB, more than Deno's WebSocket spends copying and masking in Rust; here the bytes are masked
 * in place, 64 at a time, where stdin was read into them (bench/README.md, stop 93).
 *
 * The frames that carry bulk bytes live in one `WebAssembly.Memory` for the process (`MaskArena`): a few
 * slots of a 4 MiB frame each, taken by a frame while it is written and given back once the connection has
 * handed it to TLS. The memory never grows, so the views into it stay valid. Small frames (a resize, a pong,
 * the close) are masked in JavaScript (`maskJs`).
 *
 * The module (MASK_WASM) is the binary of this text; tests/unit/kube/ws_mask_test.ts assembles it with wabt
 * (a test-only dependency) and checks the two agree:
 *
 * WAT:
 * (module
 *   (memory (export "memory") 0)
 *   ;; payload bytes p .. p+n XOR the key k (its low byte first), 64, then 16, then 1 byte at a time
 *   (func (export "mask") (param $p i32) (param $n i32) (param $k i32)
 *     (local $end i32) (local $v v128)
 *     (local.set $v (i32x4.splat (local.get $k)))
 *     (local.set $end (i32.add (local.get $p) (local.get $n)))
 *     (block $big_done
 *       (loop $big
 *         (br_if $big_done (i32.lt_u (i32.sub (local.get $end) (local.get $p)) (i32.const 64)))
 *         (v128.store offset=0 (local.get $p) (v128.xor (v128.load offset=0 (local.get $p)) (local.get $v)))
 *         (v128.store offset=16 (local.get $p) (v128.xor (v128.load offset=16 (local.get $p)) (local.get $v)))
 *         (v128.store offset=32 (local.get $p) (v128.xor (v128.load offset=32 (local.get $p)) (local.get $v)))
 *         (v128.store offset=48 (local.get $p) (v128.xor (v128.load offset=48 (local.get $p)) (local.get $v)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 64)))
 *         (br $big)))
 *     (block $simd_done
 *       (loop $simd
 *         (br_if $simd_done (i32.lt_u (i32.sub (local.get $end) (local.get $p)) (i32.const 16)))
 *         (v128.store (local.get $p) (v128.xor (v128.load (local.get $p)) (local.get $v)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 16)))
 *         (br $simd)))
 *     (block $done
 *       (loop $tail
 *         (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
 *         (i32.store8 (local.get $p) (i32.xor (i32.load8_u (local.get $p)) (local.get $k)))
 *         (local.set $k (i32.rotr (local.get $k) (i32.const 8)))
 *         (local.set $p (i32.add (local.get $p) (i32.const 1)))
 *         (br $tail)))))
 * END WAT
 */

// deno-fmt-ignore
export const MASK_WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00, 0x03,
  0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x00, 0x00, 0x07, 0x11, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79,
  0x02, 0x00, 0x04, 0x6d, 0x61, 0x73, 0x6b, 0x00, 0x00, 0x0a, 0xc4, 0x01, 0x01, 0xc1, 0x01, 0x02, 0x01, 0x7f,
  0x01, 0x7b, 0x20, 0x02, 0xfd, 0x11, 0x21, 0x04, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x21, 0x03, 0x02, 0x40, 0x03,
  0x40, 0x20, 0x03, 0x20, 0x00, 0x6b, 0x41, 0xc0, 0x00, 0x49, 0x0d, 0x01, 0x20, 0x00, 0x20, 0x00, 0xfd, 0x00,
  0x04, 0x00, 0x20, 0x04, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x00, 0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x10,
  0x20, 0x04, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x10, 0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x20, 0x20, 0x04,
  0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x20, 0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x04, 0x30, 0x20, 0x04, 0xfd, 0x51,
  0xfd, 0x0b, 0x04, 0x30, 0x20, 0x00, 0x41, 0xc0, 0x00, 0x6a, 0x21, 0x00, 0x0c, 0x00, 0x0b, 0x0b, 0x02, 0x40,
  0x03, 0x40, 0x20, 0x03, 0x20, 0x00, 0x6b, 0x41, 0x10, 0x49, 0x0d, 0x01, 0x20, 0x00, 0x20, 0x00, 0xfd, 0x00,
  0x04, 0x00, 0x20, 0x04, 0xfd, 0x51, 0xfd, 0x0b, 0x04, 0x00, 0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, 0x0c,
  0x00, 0x0b, 0x0b, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x20, 0x03, 0x4f, 0x0d, 0x01, 0x20, 0x00, 0x20, 0x00,
  0x2d, 0x00, 0x00, 0x20, 0x02, 0x73, 0x3a, 0x00, 0x00, 0x20, 0x02, 0x41, 0x08, 0x78, 0x21, 0x02, 0x20, 0x00,
  0x41, 0x01, 0x6a, 0x21, 0x00, 0x0c, 0x00, 0x0b, 0x0b, 0x0b,
]);

/** The mask key as the module takes it: its first byte the low one (little-endian, as WebAssembly is). */
export const keyWord = (key: Uint8Array): number => key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24);

/** Mask `b` in place with `key` (4 bytes), the payload's first byte at `b[0]`: the small frames' way. */
export function maskJs(b: Uint8Array, key: Uint8Array): void {
  for (let i = 0; i < b.length; i++) b[i] ^= key[i & 3];
}

/** Fresh mask keys: one getRandomValues for 256 of them. */
const keys = new Uint8Array(1024);
let keyAt = keys.length;

/** The next random mask key (4 bytes, a view valid until 255 more are taken). */
export function maskKey(): Uint8Array {
  if (keyAt === keys.length) {
    crypto.getRandomValues(keys);
    keyAt = 0;
  }
  keyAt += 4;
  return keys.subarray(keyAt - 4, keyAt);
}

let module: WebAssembly.Module | undefined;

/** An instance of the module over a memory of `pages` 64 KiB pages: its bytes and its mask function. */
export function maskModule(pages: number): {
  bytes: Uint8Array;
  mask: (at: number, n: number, key: number) => void;
} {
  module ??= new WebAssembly.Module(MASK_WASM);
  const inst = new WebAssembly.Instance(module);
  const memory = inst.exports.memory as WebAssembly.Memory;
  if (pages > 0) memory.grow(pages);
  return {
    bytes: new Uint8Array(memory.buffer),
    mask: inst.exports.mask as (at: number, n: number, key: number) => void,
  };
}

/** Room before a slot's payload for the longest client frame header (2 + 8 length + 4 key = 14 bytes). */
export const HEAD_ROOM = 16;

/**
 * Slots of frame buffers in one WebAssembly memory, shared by every connection of the process. `take` a
 * slot (its offset in `bytes`), write the frame into `bytes[at .. at + HEAD_ROOM + payload]`, and `give` it
 * back once the frame is written. `wait` resolves once a slot is free.
 */
export class MaskArena {
  readonly bytes: Uint8Array;
  readonly mask: (at: number, n: number, key: number) => void;
  private free: number[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly payload: number, slots: number) {
    const stride = Math.ceil((HEAD_ROOM + payload) / 65536) * 65536;
    const m = maskModule((stride * slots) / 65536);
    this.bytes = m.bytes;
    this.mask = m.mask;
    for (let i = slots - 1; i >= 0; i--) this.free.push(i * stride);
  }

  /** A free slot's offset, or undefined when every slot is being written. */
  take(): number | undefined {
    return this.free.pop();
  }

  give(at: number): void {
    this.free.push(at);
    this.waiters.shift()?.();
  }

  /** Resolves once a slot may be free (take may still find none: another taker came first). */
  wait(): Promise<void> {
    if (this.free.length) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }
}
