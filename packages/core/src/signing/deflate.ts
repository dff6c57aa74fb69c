/**
 * A dependency-free reimplementation of stock zlib 1.2.13's `compress()` at the default level 6.
 *
 * Django's `signing.dumps(..., compress=True)` stores `zlib.compress(data)` from CPython, which links
 * stock zlib. Node's `zlib` is Chromium's fork and picks different matches on many inputs, so the
 * bytes (and Django's "is compression worth it?" decision) can differ. This module reproduces the
 * stock algorithm step by step so that the output is identical byte for byte:
 *
 * - deflate.c: `deflate_slow` (lazy matching) with the level-6 configuration, 32 KiB window
 *   (windowBits 15), memLevel 8 (15-bit rolling hash, 16 Ki symbol buffer), `fill_window` including
 *   the window slide and the "high water" zeroing of the window tail, `longest_match` (including
 *   its quirks: position 0 means "no match", byte 2 of a candidate is not compared, the chain
 *   limit MAX_DIST, the TOO_FAR rule for length-3 matches), and the block split when the symbol
 *   buffer holds `lit_bufsize - 1` symbols (1.2.12+: `sym_next == sym_end`).
 * - trees.c: `_tr_flush_block` choosing stored / fixed / dynamic blocks exactly as zlib does,
 *   `build_tree` with the same heap and depth tie-breaking, `gen_bitlen` with its overflow fix-up,
 *   `gen_codes`, `scan_tree` / `send_tree` / `build_bl_tree` and `compress_block`.
 *
 * The input is handed to the engine in one piece, as CPython does, so the window is filled in the
 * same chunks as in CPython. Output-buffer sizes do not influence zlib's output, so they are not
 * modelled. The code is written from the published algorithm (RFC 1950/1951 and zlib's design);
 * the C names are kept in comments to ease review against zlib's sources.
 */

// ---------------------------------------------------------------------------------------------
// Parameters (deflate.h / deflate.c for level 6, windowBits 15, memLevel 8)
// ---------------------------------------------------------------------------------------------

const MIN_MATCH = 3;
const MAX_MATCH = 258;
const W_SIZE = 1 << 15; // w_size
const W_MASK = W_SIZE - 1; // w_mask
const WINDOW_SIZE = 2 * W_SIZE; // window_size
const MIN_LOOKAHEAD = MAX_MATCH + MIN_MATCH + 1; // 262
const MAX_DIST = W_SIZE - MIN_LOOKAHEAD; // 32506
const WIN_INIT = MAX_MATCH; // bytes zeroed past the data ("high water")
const HASH_BITS = 8 + 7; // memLevel + 7
const HASH_SIZE = 1 << HASH_BITS;
const HASH_MASK = HASH_SIZE - 1;
const HASH_SHIFT = Math.floor((HASH_BITS + MIN_MATCH - 1) / MIN_MATCH); // 5
const LIT_BUFSIZE = 1 << (8 + 6); // 16384
/** A block is flushed when it holds this many symbols: sym_end = (lit_bufsize - 1) * 3 bytes. */
const SYM_LIMIT = LIT_BUFSIZE - 1;
const TOO_FAR = 4096;
const NIL = 0;

// configuration_table[6] = { good_length 8, max_lazy 16, nice_length 128, max_chain 128 }
const GOOD_MATCH = 8;
const MAX_LAZY_MATCH = 16;
const NICE_MATCH = 128;
const MAX_CHAIN = 128;

// ---------------------------------------------------------------------------------------------
// Huffman constants and static tables (trees.c)
// ---------------------------------------------------------------------------------------------

const LENGTH_CODES = 29;
const LITERALS = 256;
const L_CODES = LITERALS + 1 + LENGTH_CODES; // 286
const D_CODES = 30;
const BL_CODES = 19;
const HEAP_SIZE = 2 * L_CODES + 1; // 573
const MAX_BITS = 15;
const MAX_BL_BITS = 7;
const END_BLOCK = 256;
const REP_3_6 = 16;
const REPZ_3_10 = 17;
const REPZ_11_138 = 18;
const STORED_BLOCK = 0;
const STATIC_TREES = 1;
const DYN_TREES = 2;

// biome-ignore format: lookup table
const EXTRA_LBITS = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0);
// biome-ignore format: lookup table
const EXTRA_DBITS = Uint8Array.of(
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
);
const EXTRA_BLBITS = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7);
/** The order in which bit-length code lengths are sent. */
const BL_ORDER = Uint8Array.of(16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15);

/** Reverses the low `len` bits of `code` (Huffman codes are sent starting from the MSB). */
function biReverse(code: number, len: number): number {
  let res = 0;
  do {
    res |= code & 1;
    code >>>= 1;
    res <<= 1;
  } while (--len > 0);
  return res >>> 1;
}

/** Assigns canonical codes from the code lengths (gen_codes). */
function genCodes(
  len: Uint16Array | Uint8Array,
  code: Uint16Array,
  maxCode: number,
  blCount: Uint16Array,
): void {
  const nextCode = new Uint16Array(MAX_BITS + 1);
  let c = 0;
  for (let bits = 1; bits <= MAX_BITS; bits++) {
    c = (c + blCount[bits - 1]!) << 1;
    nextCode[bits] = c;
  }
  for (let n = 0; n <= maxCode; n++) {
    const l = len[n]!;
    if (l === 0) continue;
    code[n] = biReverse(nextCode[l]!++, l);
  }
}

const BASE_LENGTH = new Uint8Array(LENGTH_CODES); // first (length - MIN_MATCH) of each length code
const LENGTH_CODE = new Uint8Array(MAX_MATCH - MIN_MATCH + 1); // (length - MIN_MATCH) -> code
const BASE_DIST = new Uint16Array(D_CODES); // first (distance - 1) of each distance code
const DIST_CODE = new Uint8Array(512); // see dCode()
const STATIC_LTREE_LEN = new Uint8Array(L_CODES + 2);
const STATIC_LTREE_CODE = new Uint16Array(L_CODES + 2);
const STATIC_DTREE_LEN = new Uint8Array(D_CODES);
const STATIC_DTREE_CODE = new Uint16Array(D_CODES);

// tr_static_init
{
  let length = 0;
  for (let code = 0; code < LENGTH_CODES - 1; code++) {
    BASE_LENGTH[code] = length;
    for (let n = 0; n < 1 << EXTRA_LBITS[code]!; n++) LENGTH_CODE[length++] = code;
  }
  // Length 258 (index 255) has its own code 28, overwriting the last entry of code 27.
  LENGTH_CODE[length - 1] = LENGTH_CODES - 1;

  let dist = 0;
  for (let code = 0; code < 16; code++) {
    BASE_DIST[code] = dist;
    for (let n = 0; n < 1 << EXTRA_DBITS[code]!; n++) DIST_CODE[dist++] = code;
  }
  dist >>= 7; // from now on, all distances are divided by 128
  for (let code = 16; code < D_CODES; code++) {
    BASE_DIST[code] = dist << 7;
    for (let n = 0; n < 1 << (EXTRA_DBITS[code]! - 7); n++) DIST_CODE[256 + dist++] = code;
  }

  const blCount = new Uint16Array(MAX_BITS + 1);
  // Fixed literal/length code lengths (RFC 1951 3.2.6).
  for (let n = 0; n < L_CODES + 2; n++) {
    const l = n <= 143 ? 8 : n <= 255 ? 9 : n <= 279 ? 7 : 8;
    STATIC_LTREE_LEN[n] = l;
    blCount[l]!++;
  }
  genCodes(STATIC_LTREE_LEN, STATIC_LTREE_CODE, L_CODES + 1, blCount);

  for (let d = 0; d < D_CODES; d++) {
    STATIC_DTREE_LEN[d] = 5;
    STATIC_DTREE_CODE[d] = biReverse(d, 5);
  }
}

/** Distance code of `dist` = match distance - 1 (d_code). */
function dCode(dist: number): number {
  return dist < 256 ? DIST_CODE[dist]! : DIST_CODE[256 + (dist >>> 7)]!;
}

/**
 * A dynamic tree and its static description (zlib's ct_data array plus tree_desc/static_tree_desc).
 * zlib overlays Freq/Code and Dad/Len in one struct; separate arrays behave the same here because
 * no field is read after its overlaid twin has been written.
 */
interface Tree {
  readonly freq: Uint16Array;
  readonly code: Uint16Array;
  readonly len: Uint16Array;
  readonly dad: Uint16Array;
  readonly staticLen: Uint8Array | null;
  readonly extraBits: Uint8Array;
  readonly extraBase: number;
  readonly elems: number;
  readonly maxLength: number;
  /** Largest code with a non-zero frequency (set by buildTree). */
  maxCode: number;
}

function newTree(
  size: number,
  staticLen: Uint8Array | null,
  extraBits: Uint8Array,
  extraBase: number,
  elems: number,
  maxLength: number,
): Tree {
  return {
    freq: new Uint16Array(size),
    code: new Uint16Array(size),
    len: new Uint16Array(size),
    dad: new Uint16Array(size),
    staticLen,
    extraBits,
    extraBase,
    elems,
    maxLength,
    maxCode: 0,
  };
}

// ---------------------------------------------------------------------------------------------
// The compressor state (deflate_state). One instance is reused by every call.
// ---------------------------------------------------------------------------------------------

const EMPTY = new Uint8Array(0);

class Deflater {
  // --- deflate.c state
  private readonly window = new Uint8Array(WINDOW_SIZE);
  private readonly head = new Uint16Array(HASH_SIZE);
  private readonly prev = new Uint16Array(W_SIZE);
  private highWater = 0;
  private insH = 0;
  private strstart = 0;
  private blockStart = 0;
  private lookahead = 0;
  private insert = 0;
  private matchLength = MIN_MATCH - 1;
  private prevLength = MIN_MATCH - 1;
  private matchAvailable = false;
  private matchStart = 0;
  private prevMatch = 0;
  private input: Uint8Array = EMPTY;
  private inPos = 0;

  // --- symbol buffer (sym_buf): distance (0 for a literal) and literal or length - MIN_MATCH
  private readonly symDist = new Uint16Array(LIT_BUFSIZE);
  private readonly symLc = new Uint8Array(LIT_BUFSIZE);
  private symNext = 0;

  // --- trees.c state
  private readonly ltree = newTree(HEAP_SIZE, STATIC_LTREE_LEN, EXTRA_LBITS, LITERALS + 1, L_CODES, MAX_BITS);
  private readonly dtree = newTree(2 * D_CODES + 1, STATIC_DTREE_LEN, EXTRA_DBITS, 0, D_CODES, MAX_BITS);
  private readonly bltree = newTree(2 * BL_CODES + 1, null, EXTRA_BLBITS, 0, BL_CODES, MAX_BL_BITS);
  private readonly heap = new Int32Array(HEAP_SIZE);
  private heapLen = 0;
  private heapMax = 0;
  private readonly depth = new Uint8Array(HEAP_SIZE);
  private readonly blCount = new Uint16Array(MAX_BITS + 1);
  private optLen = 0;
  private staticLen = 0;

  // --- output
  private out = new Uint8Array(1024);
  private outPos = 0;
  private bitBuf = 0;
  private bitCount = 0;

  compress(data: Uint8Array): Uint8Array {
    this.reset(data);
    // zlib header: CM 8, CINFO 7, FLEVEL 2 (default level), FCHECK
    this.putByte(0x78);
    this.putByte(0x9c);
    this.deflateSlow();
    const adler = adler32(data);
    this.ensure(4);
    this.putByte(adler >>> 24);
    this.putByte((adler >>> 16) & 0xff);
    this.putByte((adler >>> 8) & 0xff);
    this.putByte(adler & 0xff);
    const result = this.out.slice(0, this.outPos);
    this.input = EMPTY;
    if (this.out.length > 1 << 20) this.out = new Uint8Array(1024); // don't pin large buffers
    return result;
  }

  /** deflateInit2 + lm_init + init_block. `prev` needs no clearing: only entries written for
   * inserted positions are ever read. The window is cleared by the high-water logic instead. */
  private reset(data: Uint8Array): void {
    this.head.fill(0);
    this.highWater = 0;
    this.insH = 0;
    this.strstart = 0;
    this.blockStart = 0;
    this.lookahead = 0;
    this.insert = 0;
    this.matchLength = this.prevLength = MIN_MATCH - 1;
    this.matchAvailable = false;
    this.matchStart = 0;
    this.prevMatch = 0;
    this.input = data;
    this.inPos = 0;
    this.bitBuf = 0;
    this.bitCount = 0;
    this.outPos = 0;
    this.ensure(16);
    this.initBlock();
  }

  // -------------------------------------------------------------------------------------------
  // deflate.c
  // -------------------------------------------------------------------------------------------

  /** fill_window: slide the window if needed, read input, initialise the hash, zero the tail. */
  private fillWindow(): void {
    const win = this.window;
    do {
      let more = WINDOW_SIZE - this.lookahead - this.strstart;

      // If the window is almost full and there is insufficient lookahead, move the upper half
      // to the lower one. Exactly `W_SIZE - more` bytes move; the rest keeps its stale content,
      // which longest_match may look at beyond the end of the data.
      if (this.strstart >= W_SIZE + MAX_DIST) {
        win.copyWithin(0, W_SIZE, W_SIZE + W_SIZE - more);
        this.matchStart -= W_SIZE;
        this.strstart -= W_SIZE;
        this.blockStart -= W_SIZE;
        if (this.insert > this.strstart) this.insert = this.strstart;
        this.slideHash();
        more += W_SIZE;
      }
      const avail = this.input.length - this.inPos;
      if (avail === 0) break;

      const n = Math.min(avail, more); // read_buf
      win.set(this.input.subarray(this.inPos, this.inPos + n), this.strstart + this.lookahead);
      this.inPos += n;
      this.lookahead += n;

      // Initialise the hash value now that we have some input.
      if (this.lookahead + this.insert >= MIN_MATCH) {
        let str = this.strstart - this.insert;
        let h = win[str]!;
        h = ((h << HASH_SHIFT) ^ win[str + 1]!) & HASH_MASK;
        while (this.insert) {
          h = ((h << HASH_SHIFT) ^ win[str + MIN_MATCH - 1]!) & HASH_MASK;
          this.prev[str & W_MASK] = this.head[h]!;
          this.head[h] = str;
          str++;
          this.insert--;
          if (this.lookahead + this.insert < MIN_MATCH) break;
        }
        this.insH = h;
      }
    } while (this.lookahead < MIN_LOOKAHEAD && this.inPos < this.input.length);

    // Zero WIN_INIT bytes past the data (never-written bytes only), as zlib does so that
    // longest_match reads defined memory.
    if (this.highWater < WINDOW_SIZE) {
      const curr = this.strstart + this.lookahead;
      if (this.highWater < curr) {
        const init = Math.min(WINDOW_SIZE - curr, WIN_INIT);
        win.fill(0, curr, curr + init);
        this.highWater = curr + init;
      } else if (this.highWater < curr + WIN_INIT) {
        const init = Math.min(curr + WIN_INIT - this.highWater, WINDOW_SIZE - this.highWater);
        win.fill(0, this.highWater, this.highWater + init);
        this.highWater += init;
      }
    }
  }

  /** slide_hash */
  private slideHash(): void {
    const head = this.head;
    for (let n = 0; n < HASH_SIZE; n++) {
      const m = head[n]!;
      head[n] = m >= W_SIZE ? m - W_SIZE : NIL;
    }
    const prev = this.prev;
    for (let n = 0; n < W_SIZE; n++) {
      const m = prev[n]!;
      prev[n] = m >= W_SIZE ? m - W_SIZE : NIL;
    }
  }

  /** longest_match (the portable, byte-wise variant). */
  private longestMatch(curMatch: number): number {
    const win = this.window;
    const prev = this.prev;
    const scan = this.strstart;
    const strend = scan + MAX_MATCH;
    const limit = scan > MAX_DIST ? scan - MAX_DIST : NIL;
    const scan0 = win[scan]!;
    const scan1 = win[scan + 1]!;
    let chainLength = MAX_CHAIN;
    let bestLen = this.prevLength;
    let niceMatch = NICE_MATCH;
    let scanEnd1 = win[scan + bestLen - 1]!;
    let scanEnd = win[scan + bestLen]!;

    // Do not waste too much time if we already have a good match.
    if (this.prevLength >= GOOD_MATCH) chainLength >>= 2;
    // Do not look for matches beyond the end of the input.
    if (niceMatch > this.lookahead) niceMatch = this.lookahead;

    do {
      const match = curMatch;
      if (
        win[match + bestLen] !== scanEnd ||
        win[match + bestLen - 1] !== scanEnd1 ||
        win[match] !== scan0 ||
        win[match + 1] !== scan1
      ) {
        continue;
      }
      // Byte 2 is deliberately not compared (zlib relies on the hash for it); compare from 3 on.
      let s = scan + 3;
      let m = match + 3;
      while (s < strend && win[s] === win[m]) {
        s++;
        m++;
      }
      const len = s - scan;
      if (len > bestLen) {
        this.matchStart = curMatch;
        bestLen = len;
        if (len >= niceMatch) break;
        scanEnd1 = win[scan + bestLen - 1]!;
        scanEnd = win[scan + bestLen]!;
      }
    } while ((curMatch = prev[curMatch & W_MASK]!) > limit && --chainLength !== 0);

    return Math.min(bestLen, this.lookahead);
  }

  /** deflate_slow with flush = Z_FINISH (all input is available from the start). */
  private deflateSlow(): void {
    const win = this.window;
    const head = this.head;
    const prev = this.prev;

    for (;;) {
      // Make sure that we always have enough lookahead.
      if (this.lookahead < MIN_LOOKAHEAD) {
        this.fillWindow();
        if (this.lookahead === 0) break;
      }

      // Insert the string window[strstart .. strstart + 2] in the dictionary.
      let hashHead = NIL;
      if (this.lookahead >= MIN_MATCH) {
        const str = this.strstart;
        this.insH = ((this.insH << HASH_SHIFT) ^ win[str + MIN_MATCH - 1]!) & HASH_MASK;
        hashHead = prev[str & W_MASK] = head[this.insH]!;
        head[this.insH] = str;
      }

      // Find the longest match, discarding those <= prevLength.
      this.prevLength = this.matchLength;
      this.prevMatch = this.matchStart;
      this.matchLength = MIN_MATCH - 1;

      if (hashHead !== NIL && this.prevLength < MAX_LAZY_MATCH && this.strstart - hashHead <= MAX_DIST) {
        this.matchLength = this.longestMatch(hashHead);
        // A length-3 match is not worth it if it is too far away.
        if (this.matchLength === MIN_MATCH && this.strstart - this.matchStart > TOO_FAR) {
          this.matchLength = MIN_MATCH - 1;
        }
      }

      if (this.prevLength >= MIN_MATCH && this.matchLength <= this.prevLength) {
        // The previous match is at least as good: emit it.
        const maxInsert = this.strstart + this.lookahead - MIN_MATCH;
        const bflush = this.tallyDist(this.strstart - 1 - this.prevMatch, this.prevLength - MIN_MATCH);

        // Insert the strings of the match (except the first one, already inserted) if there is
        // enough lookahead for them.
        this.lookahead -= this.prevLength - 1;
        let count = this.prevLength - 2;
        let str = this.strstart;
        do {
          if (++str <= maxInsert) {
            this.insH = ((this.insH << HASH_SHIFT) ^ win[str + MIN_MATCH - 1]!) & HASH_MASK;
            prev[str & W_MASK] = head[this.insH]!;
            head[this.insH] = str;
          }
        } while (--count !== 0);
        this.strstart = str + 1;
        this.prevLength = 0;
        this.matchAvailable = false;
        this.matchLength = MIN_MATCH - 1;

        if (bflush) this.flushBlock(false);
      } else if (this.matchAvailable) {
        // No better match: emit the pending literal and keep looking one byte further.
        if (this.tallyLit(win[this.strstart - 1]!)) this.flushBlock(false);
        this.strstart++;
        this.lookahead--;
      } else {
        // No previous match to compare with: wait for the next step to decide.
        this.matchAvailable = true;
        this.strstart++;
        this.lookahead--;
      }
    }

    if (this.matchAvailable) {
      this.tallyLit(win[this.strstart - 1]!);
      this.matchAvailable = false;
    }
    this.insert = Math.min(this.strstart, MIN_MATCH - 1);
    this.flushBlock(true);
  }

  /** FLUSH_BLOCK_ONLY: the stored-block option needs the block's bytes still in the window. */
  private flushBlock(last: boolean): void {
    this.trFlushBlock(this.blockStart, this.strstart - this.blockStart, last);
    this.blockStart = this.strstart;
  }

  /** _tr_tally_lit; returns true when the symbol buffer is full. */
  private tallyLit(c: number): boolean {
    const i = this.symNext++;
    this.symDist[i] = 0;
    this.symLc[i] = c;
    this.ltree.freq[c]!++;
    return this.symNext === SYM_LIMIT;
  }

  /** _tr_tally_dist(distance, length - MIN_MATCH); returns true when the symbol buffer is full. */
  private tallyDist(dist: number, lc: number): boolean {
    const i = this.symNext++;
    this.symDist[i] = dist;
    this.symLc[i] = lc;
    this.ltree.freq[LENGTH_CODE[lc]! + LITERALS + 1]!++;
    this.dtree.freq[dCode(dist - 1)]!++;
    return this.symNext === SYM_LIMIT;
  }

  // -------------------------------------------------------------------------------------------
  // trees.c
  // -------------------------------------------------------------------------------------------

  /** init_block */
  private initBlock(): void {
    this.ltree.freq.fill(0, 0, L_CODES);
    this.dtree.freq.fill(0, 0, D_CODES);
    this.bltree.freq.fill(0, 0, BL_CODES);
    this.ltree.freq[END_BLOCK] = 1;
    this.optLen = this.staticLen = 0;
    this.symNext = 0;
  }

  /** The `smaller` macro: by frequency, then by depth. */
  private smaller(freq: Uint16Array, n: number, m: number): boolean {
    const fn = freq[n]!;
    const fm = freq[m]!;
    return fn < fm || (fn === fm && this.depth[n]! <= this.depth[m]!);
  }

  /** pqdownheap */
  private pqDownHeap(freq: Uint16Array, k: number): void {
    const heap = this.heap;
    const v = heap[k]!;
    let j = k << 1;
    while (j <= this.heapLen) {
      if (j < this.heapLen && this.smaller(freq, heap[j + 1]!, heap[j]!)) j++;
      if (this.smaller(freq, v, heap[j]!)) break;
      heap[k] = heap[j]!;
      k = j;
      j <<= 1;
    }
    heap[k] = v;
  }

  /** build_tree: Huffman code lengths and codes for one tree; updates optLen / staticLen. */
  private buildTree(t: Tree): void {
    const { freq, len, dad, staticLen, elems } = t;
    const heap = this.heap;
    const depth = this.depth;
    let maxCode = -1;

    this.heapLen = 0;
    this.heapMax = HEAP_SIZE;
    for (let n = 0; n < elems; n++) {
      if (freq[n] !== 0) {
        heap[++this.heapLen] = maxCode = n;
        depth[n] = 0;
      } else {
        len[n] = 0;
      }
    }

    // The format needs at least one distance code and at least one bit per code, so force at
    // least two codes of non-zero frequency.
    while (this.heapLen < 2) {
      const node = (heap[++this.heapLen] = maxCode < 2 ? ++maxCode : 0);
      freq[node] = 1;
      depth[node] = 0;
      this.optLen--;
      if (staticLen) this.staticLen -= staticLen[node]!;
    }
    t.maxCode = maxCode;

    for (let n = this.heapLen >> 1; n >= 1; n--) this.pqDownHeap(freq, n);

    let node = elems; // next internal node
    do {
      // pqremove
      const n = heap[1]!;
      heap[1] = heap[this.heapLen--]!;
      this.pqDownHeap(freq, 1);
      const m = heap[1]!;

      heap[--this.heapMax] = n; // keep the nodes sorted by frequency
      heap[--this.heapMax] = m;

      freq[node] = freq[n]! + freq[m]!;
      depth[node] = Math.max(depth[n]!, depth[m]!) + 1;
      dad[n] = dad[m] = node;

      heap[1] = node++;
      this.pqDownHeap(freq, 1);
    } while (this.heapLen >= 2);

    heap[--this.heapMax] = heap[1]!;

    this.genBitlen(t);
    genCodes(len, t.code, maxCode, this.blCount);
  }

  /** gen_bitlen: code lengths from the tree, limited to maxLength the way zlib does it. */
  private genBitlen(t: Tree): void {
    const { freq, len, dad, staticLen, extraBits, extraBase, maxLength, maxCode } = t;
    const heap = this.heap;
    const blCount = this.blCount;
    let overflow = 0;

    blCount.fill(0);
    len[heap[this.heapMax]!] = 0; // root

    let h: number;
    for (h = this.heapMax + 1; h < HEAP_SIZE; h++) {
      const n = heap[h]!;
      let bits = len[dad[n]!]! + 1;
      if (bits > maxLength) {
        bits = maxLength;
        overflow++;
      }
      len[n] = bits;
      if (n > maxCode) continue; // not a leaf

      blCount[bits]!++;
      const xbits = n >= extraBase ? extraBits[n - extraBase]! : 0;
      const f = freq[n]!;
      this.optLen += f * (bits + xbits);
      if (staticLen) this.staticLen += f * (staticLen[n]! + xbits);
    }
    if (overflow === 0) return;

    // Find the first bit length which could increase.
    do {
      let bits = maxLength - 1;
      while (blCount[bits] === 0) bits--;
      blCount[bits]!--; // move one leaf down the tree
      blCount[bits + 1]! += 2; // move one overflow item as its brother
      blCount[maxLength]!--;
      overflow -= 2;
    } while (overflow > 0);

    // Recompute all bit lengths, scanning in increasing frequency (h is HEAP_SIZE here).
    for (let bits = maxLength; bits !== 0; bits--) {
      let n = blCount[bits]!;
      while (n !== 0) {
        const m = heap[--h]!;
        if (m > maxCode) continue;
        if (len[m] !== bits) {
          this.optLen += (bits - len[m]!) * freq[m]!;
          len[m] = bits;
        }
        n--;
      }
    }
  }

  /** scan_tree: gather bit-length-code frequencies for a tree's code lengths. */
  private scanTree(t: Tree, maxCode: number): void {
    const len = t.len;
    const blFreq = this.bltree.freq;
    let prevlen = -1;
    let nextlen = len[0]!;
    let count = 0;
    let maxCount = 7;
    let minCount = 4;

    if (nextlen === 0) {
      maxCount = 138;
      minCount = 3;
    }
    len[maxCode + 1] = 0xffff; // guard

    for (let n = 0; n <= maxCode; n++) {
      const curlen = nextlen;
      nextlen = len[n + 1]!;
      if (++count < maxCount && curlen === nextlen) {
        continue;
      } else if (count < minCount) {
        blFreq[curlen]! += count;
      } else if (curlen !== 0) {
        if (curlen !== prevlen) blFreq[curlen]!++;
        blFreq[REP_3_6]!++;
      } else if (count <= 10) {
        blFreq[REPZ_3_10]!++;
      } else {
        blFreq[REPZ_11_138]!++;
      }
      count = 0;
      prevlen = curlen;
      if (nextlen === 0) {
        maxCount = 138;
        minCount = 3;
      } else if (curlen === nextlen) {
        maxCount = 6;
        minCount = 3;
      } else {
        maxCount = 7;
        minCount = 4;
      }
    }
  }

  /** send_tree: emit a tree's code lengths with the bit-length code (guard set by scanTree). */
  private sendTree(t: Tree, maxCode: number): void {
    const len = t.len;
    const bl = this.bltree;
    let prevlen = -1;
    let nextlen = len[0]!;
    let count = 0;
    let maxCount = 7;
    let minCount = 4;

    if (nextlen === 0) {
      maxCount = 138;
      minCount = 3;
    }

    for (let n = 0; n <= maxCode; n++) {
      const curlen = nextlen;
      nextlen = len[n + 1]!;
      if (++count < maxCount && curlen === nextlen) {
        continue;
      } else if (count < minCount) {
        do this.sendCode(curlen, bl.code, bl.len);
        while (--count !== 0);
      } else if (curlen !== 0) {
        if (curlen !== prevlen) {
          this.sendCode(curlen, bl.code, bl.len);
          count--;
        }
        this.sendCode(REP_3_6, bl.code, bl.len);
        this.sendBits(count - 3, 2);
      } else if (count <= 10) {
        this.sendCode(REPZ_3_10, bl.code, bl.len);
        this.sendBits(count - 3, 3);
      } else {
        this.sendCode(REPZ_11_138, bl.code, bl.len);
        this.sendBits(count - 11, 7);
      }
      count = 0;
      prevlen = curlen;
      if (nextlen === 0) {
        maxCount = 138;
        minCount = 3;
      } else if (curlen === nextlen) {
        maxCount = 6;
        minCount = 3;
      } else {
        maxCount = 7;
        minCount = 4;
      }
    }
  }

  /** build_bl_tree: returns the index in BL_ORDER of the last bit-length code to send. */
  private buildBlTree(): number {
    this.scanTree(this.ltree, this.ltree.maxCode);
    this.scanTree(this.dtree, this.dtree.maxCode);
    this.buildTree(this.bltree);

    let maxBlIndex: number;
    for (maxBlIndex = BL_CODES - 1; maxBlIndex >= 3; maxBlIndex--) {
      if (this.bltree.len[BL_ORDER[maxBlIndex]!] !== 0) break;
    }
    // Add the bit-length tree and the counts to the block size.
    this.optLen += 3 * (maxBlIndex + 1) + 5 + 5 + 4;
    return maxBlIndex;
  }

  /** send_all_trees */
  private sendAllTrees(lcodes: number, dcodes: number, blcodes: number): void {
    this.sendBits(lcodes - 257, 5);
    this.sendBits(dcodes - 1, 5);
    this.sendBits(blcodes - 4, 4);
    for (let rank = 0; rank < blcodes; rank++) {
      this.sendBits(this.bltree.len[BL_ORDER[rank]!]!, 3);
    }
    this.sendTree(this.ltree, lcodes - 1);
    this.sendTree(this.dtree, dcodes - 1);
  }

  /** _tr_flush_block: pick the cheapest of stored / fixed / dynamic and emit the block. */
  private trFlushBlock(blockStart: number, storedLen: number, last: boolean): void {
    const lastBit = last ? 1 : 0;

    this.buildTree(this.ltree);
    this.buildTree(this.dtree);
    const maxBlIndex = this.buildBlTree();

    let optLenb = (this.optLen + 3 + 7) >>> 3;
    const staticLenb = (this.staticLen + 3 + 7) >>> 3;
    if (staticLenb <= optLenb) optLenb = staticLenb;

    // 4: two words for the lengths. The block's bytes must still be in the window.
    if (storedLen + 4 <= optLenb && blockStart >= 0) {
      this.storedBlock(blockStart, storedLen, lastBit);
    } else if (staticLenb === optLenb) {
      this.ensure(staticLenb + 8);
      this.sendBits((STATIC_TREES << 1) + lastBit, 3);
      this.compressBlock(STATIC_LTREE_CODE, STATIC_LTREE_LEN, STATIC_DTREE_CODE, STATIC_DTREE_LEN);
    } else {
      this.ensure(optLenb + 8);
      this.sendBits((DYN_TREES << 1) + lastBit, 3);
      this.sendAllTrees(this.ltree.maxCode + 1, this.dtree.maxCode + 1, maxBlIndex + 1);
      this.compressBlock(this.ltree.code, this.ltree.len, this.dtree.code, this.dtree.len);
    }
    this.initBlock();
    if (last) this.biWindup();
  }

  /** _tr_stored_block */
  private storedBlock(start: number, storedLen: number, lastBit: number): void {
    this.ensure(storedLen + 8);
    this.sendBits((STORED_BLOCK << 1) + lastBit, 3);
    this.biWindup();
    this.putByte(storedLen & 0xff);
    this.putByte((storedLen >>> 8) & 0xff);
    this.putByte(~storedLen & 0xff);
    this.putByte((~storedLen >>> 8) & 0xff);
    this.out.set(this.window.subarray(start, start + storedLen), this.outPos);
    this.outPos += storedLen;
  }

  /** compress_block: emit the buffered symbols with the given trees, then END_BLOCK. */
  private compressBlock(
    lcode: Uint16Array,
    llen: ArrayLike<number>,
    dcode: Uint16Array,
    dlen: ArrayLike<number>,
  ): void {
    const symDist = this.symDist;
    const symLc = this.symLc;
    for (let sx = 0; sx < this.symNext; sx++) {
      let dist = symDist[sx]!;
      let lc = symLc[sx]!;
      if (dist === 0) {
        this.sendCode(lc, lcode, llen); // literal byte
      } else {
        let code = LENGTH_CODE[lc]!;
        this.sendCode(code + LITERALS + 1, lcode, llen);
        let extra = EXTRA_LBITS[code]!;
        if (extra !== 0) {
          lc -= BASE_LENGTH[code]!;
          this.sendBits(lc, extra);
        }
        dist--;
        code = dCode(dist);
        this.sendCode(code, dcode, dlen);
        extra = EXTRA_DBITS[code]!;
        if (extra !== 0) {
          dist -= BASE_DIST[code]!;
          this.sendBits(dist, extra);
        }
      }
    }
    this.sendCode(END_BLOCK, lcode, llen);
  }

  // -------------------------------------------------------------------------------------------
  // Bit output (LSB first, as deflate requires)
  // -------------------------------------------------------------------------------------------

  private sendCode(c: number, code: Uint16Array, len: ArrayLike<number>): void {
    this.sendBits(code[c]!, len[c]!);
  }

  /** Append `length` (<= 16) bits of `value`. Capacity is reserved per block by `ensure`. */
  private sendBits(value: number, length: number): void {
    let buf = this.bitBuf | (value << this.bitCount);
    let cnt = this.bitCount + length;
    while (cnt >= 8) {
      this.out[this.outPos++] = buf & 0xff;
      buf >>>= 8;
      cnt -= 8;
    }
    this.bitBuf = buf;
    this.bitCount = cnt;
  }

  /** bi_windup: flush the remaining bits, padding with zeros to a byte boundary. */
  private biWindup(): void {
    if (this.bitCount > 0) this.out[this.outPos++] = this.bitBuf & 0xff;
    this.bitBuf = 0;
    this.bitCount = 0;
  }

  private putByte(b: number): void {
    this.out[this.outPos++] = b;
  }

  /** Make room for `n` more bytes of output (plus any pending bits). */
  private ensure(n: number): void {
    const need = this.outPos + n + 8;
    if (need <= this.out.length) return;
    let size = this.out.length * 2;
    while (size < need) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.out.subarray(0, this.outPos));
    this.out = bigger;
  }
}

/** Adler-32 of `data` (RFC 1950). */
function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  let i = 0;
  const n = data.length;
  while (i < n) {
    const end = Math.min(i + 5552, n); // NMAX: largest run without overflowing 32 bits
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

let shared: Deflater | undefined;

/** zlib.compress(data) of stock zlib 1.2.13 at level 6, byte for byte. */
export function zlibCompress(data: Uint8Array): Uint8Array {
  shared ??= new Deflater();
  return shared.compress(data);
}
