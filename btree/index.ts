/**
 * The b-tree layer's public surface (read side): values, varints, records, pages, cells,
 * overflow chains, key comparison, cursors, the freelist and pointer maps. `src/` imports from
 * here; tests may import the modules directly. See each module's opening comment for its
 * on-disk layout and checks.
 */
export type { Collation, MaybePromise, SqlValue } from './value.js';
export { readVarint, varintLength, writeVarint, type Varint } from './varint.js';
export {
  decodeRecord,
  decodeRecordInto,
  decodeRecordPrefix,
  decodeText,
  encodeRecord,
  encodeText,
  recordPrefixLength,
  serialTypeSize,
  type EncodeOptions,
} from './record.js';
export {
  PTF_INDEX_INTERIOR,
  PTF_INDEX_LEAF,
  PTF_TABLE_INTERIOR,
  PTF_TABLE_LEAF,
  cellOffset,
  forgetPage,
  indexMaxLocal,
  minLocal,
  pageHeaderOffset,
  parsePage,
  tableLeafMaxLocal,
  type BtPage,
} from './page.js';
export { cellRowid, cellSizeFor, localPayloadSize, newCellInfo, parseCell, type CellInfo } from './cell.js';
export { overflowPageCount, readPayload } from './overflow.js';
export {
  compareCodePoints,
  compareText,
  compareValues,
  keyComparator,
  type KeyColumn,
  type KeyComparator,
  type KeyInfo,
} from './compare.js';
export { IndexCursor, MAX_DEPTH, TableCursor, scanTable, type ScanOptions, type SeekOptions } from './cursor.js';
export { readFreelist, walkFreelist, type Freelist } from './freelist.js';
export {
  PTRMAP_BTREE,
  PTRMAP_FREEPAGE,
  PTRMAP_OVERFLOW1,
  PTRMAP_OVERFLOW2,
  PTRMAP_ROOTPAGE,
  isPtrmapPage,
  ptrmapPageFor,
  readPtrmapEntry,
  type PtrmapEntry,
} from './ptrmap.js';
export { BtreeWriter, initializeDatabase } from './write.js';
export { checkIntegrity } from './integrity.js';
