/**
 * What quire knows about a schema object after parsing its CREATE statement (the text SQLite
 * keeps in sqlite_schema.sql, or a statement a user gives quire).
 *
 * The fields mirror what SQLite itself derives from the text, so they can be checked against
 * SQLite's own introspection:
 *
 *   FIELD                     SQLITE COUNTERPART
 *   ColumnDef.name            PRAGMA table_xinfo.name (dequoted)
 *   ColumnDef.declType        PRAGMA table_xinfo.type, sqlite3_column_decltype(): the type as
 *                             written, dequoted, except the six standard names (INT INTEGER
 *                             REAL TEXT BLOB ANY) which SQLite reports in upper case
 *   ColumnDef.affinity        Column.affinity (datatype3.html section 3.1; STRICT ANY = BLOB)
 *   ColumnDef.notNull         PRAGMA table_xinfo.notnull: NOT NULL, or implied by being a
 *                             PRIMARY KEY column of a WITHOUT ROWID or STRICT table
 *   ColumnDef.pk              PRAGMA table_xinfo.pk: 1-based position in the PRIMARY KEY
 *   ColumnDef.default         PRAGMA table_xinfo.dflt_value is DefaultValue.text
 *   ColumnDef.hidden          PRAGMA table_xinfo.hidden: 0 normal, 2 VIRTUAL generated,
 *                             3 STORED generated
 *   TableDef.rowidAlias       Table.iPKey: the INTEGER PRIMARY KEY column, or -1
 *   automaticIndexes()        PRAGMA index_list / index_xinfo of the sqlite_autoindex_* indexes
 *
 * Values use the storage-class-explicit {@link TypedValue} where an INTEGER must be told from a
 * REAL with an integral value (1 vs 1.0); see affinity.ts.
 */
import type { SqlValue } from '../../btree/value.js';

export type { SqlValue };

/** Column affinity (SQLite's SQLITE_AFF_*). 'BLOB' is the "none" affinity. */
export type Affinity = 'BLOB' | 'TEXT' | 'NUMERIC' | 'INTEGER' | 'REAL';

/** SQLite's five storage classes. */
export type StorageClass = 'null' | 'integer' | 'real' | 'text' | 'blob';

/**
 * A value with its storage class made explicit. INTEGER values are numbers when safe
 * (|v| <= 2^53-1) and bigints beyond, always within int64; REAL values are numbers (never NaN:
 * SQLite turns NaN into NULL).
 */
export type TypedValue =
  | { readonly type: 'null'; readonly value: null }
  | { readonly type: 'integer'; readonly value: number | bigint }
  | { readonly type: 'real'; readonly value: number }
  | { readonly type: 'text'; readonly value: string }
  | { readonly type: 'blob'; readonly value: Uint8Array };

/** ON CONFLICT resolution named in a constraint; undefined in a def means "not given". */
export type ConflictResolution = 'ROLLBACK' | 'ABORT' | 'FAIL' | 'IGNORE' | 'REPLACE';

/** A referential action of a FOREIGN KEY clause. */
export type ForeignKeyAction = 'NO ACTION' | 'RESTRICT' | 'SET NULL' | 'SET DEFAULT' | 'CASCADE';

/**
 * A DEFAULT literal as an expression tree, just the forms SQLite can turn into a value without
 * running SQL (vdbemem.c valueFromExpr): numbers, strings, blobs, NULL, TRUE/FALSE, unary +/-
 * and CAST. Integer and float tokens keep their text (after removing "_" digit separators).
 */
export type LiteralExpr =
  | { readonly op: 'integer'; readonly text: string }
  | { readonly op: 'float'; readonly text: string }
  | { readonly op: 'string'; readonly value: string }
  | { readonly op: 'blob'; readonly value: Uint8Array }
  | { readonly op: 'null' }
  | { readonly op: 'bool'; readonly value: boolean }
  | { readonly op: 'negate'; readonly arg: LiteralExpr }
  | { readonly op: 'plus'; readonly arg: LiteralExpr }
  | { readonly op: 'cast'; readonly type: string; readonly arg: LiteralExpr };

/**
 * A column's DEFAULT clause. `text` is what SQLite keeps and PRAGMA table_info shows as
 * dflt_value (the source text of the default, without the parentheses of DEFAULT (...)).
 *
 *   kind 'constant'    a literal: `value` is what SQLite computes for the expression (before
 *                      the column's affinity; see defaultFor() for the stored value), or
 *                      undefined for a literal SQLite accepts in a schema but cannot evaluate
 *                      (a hex literal beyond 64 bits): an INSERT needing it fails
 *   kind 'time'        CURRENT_TIME, CURRENT_DATE or CURRENT_TIMESTAMP (evaluated per row)
 *   kind 'expression'  anything else (functions, arithmetic...): quire cannot evaluate it
 */
export type DefaultValue =
  | { readonly kind: 'constant'; readonly text: string; readonly expr: LiteralExpr; readonly value: TypedValue | undefined }
  | { readonly kind: 'time'; readonly text: string; readonly which: 'CURRENT_TIME' | 'CURRENT_DATE' | 'CURRENT_TIMESTAMP' }
  | { readonly kind: 'expression'; readonly text: string };

/** GENERATED ALWAYS AS (expr) [VIRTUAL|STORED]. */
export interface GeneratedColumn {
  /** The expression's source text, between the parentheses. */
  readonly expr: string;
  /** STORED columns are in the record; VIRTUAL ones (the default) are not. */
  readonly stored: boolean;
}

export interface ColumnDef {
  readonly name: string;
  /** The declared type as SQLite reports it ('' when none); see the module comment. */
  readonly declType: string;
  readonly affinity: Affinity;
  /** NOT NULL in effect (declared, or implied by WITHOUT ROWID / STRICT primary keys). */
  readonly notNull: boolean;
  /** The ON CONFLICT clause of a declared NOT NULL constraint, if it had one. */
  readonly notNullConflict: ConflictResolution | undefined;
  /** 1-based position in the PRIMARY KEY, 0 when not part of it (PRAGMA table_info.pk). */
  readonly pk: number;
  /** Whether the column carries a column-level UNIQUE constraint. */
  readonly unique: boolean;
  /**
   * Default collating sequence: 'BINARY' when none is declared; the built-ins are upper-cased
   * ('BINARY', 'NOCASE', 'RTRIM'), other names are kept as written (dequoted).
   */
  readonly collation: string;
  readonly default: DefaultValue | undefined;
  readonly generated: GeneratedColumn | undefined;
  /** PRAGMA table_xinfo.hidden: 0 ordinary, 2 VIRTUAL generated, 3 STORED generated. */
  readonly hidden: 0 | 2 | 3;
  /**
   * Set when the declared type is exactly one of SQLite's six standard names (after removing
   * quotes): what STRICT tables require, and what makes INTEGER PRIMARY KEY a rowid alias.
   */
  readonly standardType: 'INT' | 'INTEGER' | 'REAL' | 'TEXT' | 'BLOB' | 'ANY' | undefined;
}

/** One column of a PRIMARY KEY, UNIQUE or index key. */
export interface IndexedColumn {
  /** Index into TableDef.columns. */
  readonly column: number;
  /** The column's name (as declared in the table). */
  readonly name: string;
  /** COLLATE given in the constraint itself, if any (built-ins upper-cased). */
  readonly collation: string | undefined;
  readonly desc: boolean;
}

/**
 * The PRIMARY KEY constraint as written. What SQLite builds from it is elsewhere: the rowid
 * alias (TableDef.rowidAlias), or an automatic index (automaticIndexes()), which for a WITHOUT
 * ROWID table is the table's key with repeated columns dropped (withoutRowidKey()).
 */
export interface PrimaryKeyDef {
  readonly columns: readonly IndexedColumn[];
  readonly onConflict: ConflictResolution | undefined;
  readonly autoincrement: boolean;
  /** 'column' for `x ... PRIMARY KEY`, 'table' for `PRIMARY KEY (...)`. */
  readonly origin: 'column' | 'table';
  /** CONSTRAINT name in effect, if any. */
  readonly name: string | undefined;
  /**
   * Position among the table's PRIMARY KEY and UNIQUE constraints in source order (column
   * constraints, then table constraints): SQLite numbers its automatic indexes in this order.
   */
  readonly ordinal: number;
}

/**
 * A UNIQUE constraint as written; SQLite may fold it into an identical earlier index (see
 * automaticIndexes()).
 */
export interface UniqueDef {
  readonly columns: readonly IndexedColumn[];
  readonly onConflict: ConflictResolution | undefined;
  readonly origin: 'column' | 'table';
  readonly name: string | undefined;
  /** See PrimaryKeyDef.ordinal. */
  readonly ordinal: number;
}

/** A CHECK constraint; `name` is set only when a CONSTRAINT name was given. */
export interface CheckDef {
  /** The expression's source text, between the parentheses. */
  readonly expr: string;
  readonly name: string | undefined;
  /** 'column' CHECK clauses belong to a column definition, 'table' ones stand alone. */
  readonly origin: 'column' | 'table';
}

export interface ForeignKeyDef {
  /** Child columns (for a column-level REFERENCES: that one column). */
  readonly columns: readonly string[];
  readonly table: string;
  /** Parent columns, or undefined for "the parent's PRIMARY KEY". */
  readonly parentColumns: readonly string[] | undefined;
  readonly onDelete: ForeignKeyAction;
  readonly onUpdate: ForeignKeyAction;
  /** MATCH name, if given (SQLite parses and ignores it). */
  readonly match: string | undefined;
  /** DEFERRABLE INITIALLY DEFERRED. */
  readonly deferred: boolean;
  readonly name: string | undefined;
}

/** CREATE VIRTUAL TABLE ... USING module(args). */
export interface VirtualTableInfo {
  readonly module: string;
  /** Module arguments as source text, one per comma-separated argument (trimmed). */
  readonly args: readonly string[];
}

export interface TableDef {
  readonly type: 'table';
  readonly name: string;
  /** Schema qualifier as written (main, temp, an attached name), dequoted. */
  readonly schema: string | undefined;
  readonly temp: boolean;
  readonly ifNotExists: boolean;
  /** Columns in declaration order (empty for virtual tables: their module declares them). */
  readonly columns: readonly ColumnDef[];
  /** The INTEGER PRIMARY KEY column that aliases the rowid, or -1. */
  readonly rowidAlias: number;
  readonly autoincrement: boolean;
  readonly withoutRowid: boolean;
  readonly strict: boolean;
  readonly primaryKey: PrimaryKeyDef | undefined;
  readonly uniques: readonly UniqueDef[];
  readonly checks: readonly CheckDef[];
  readonly foreignKeys: readonly ForeignKeyDef[];
  /** Set for CREATE VIRTUAL TABLE (rows are the module's business, not readable by quire). */
  readonly virtual: VirtualTableInfo | undefined;
  /** The statement this was parsed from. */
  readonly sql: string;
}

/** One term of CREATE INDEX ... ON t(term, ...). */
export interface IndexTerm {
  /** The column's name as written (dequoted) when the term is a plain column reference. */
  readonly name: string | undefined;
  /** Source text of the term when it is an expression (then `name` is undefined). */
  readonly expr: string | undefined;
  /** COLLATE given in the term, if any (built-ins upper-cased). */
  readonly collation: string | undefined;
  readonly desc: boolean;
}

export interface IndexDef {
  readonly type: 'index';
  readonly name: string;
  readonly schema: string | undefined;
  readonly table: string;
  readonly unique: boolean;
  readonly ifNotExists: boolean;
  readonly terms: readonly IndexTerm[];
  /** Source text of the partial-index WHERE clause, if any. */
  readonly where: string | undefined;
  readonly sql: string;
}

export interface ViewDef {
  readonly type: 'view';
  readonly name: string;
  readonly schema: string | undefined;
  readonly temp: boolean;
  readonly ifNotExists: boolean;
  /** The optional column-name list: CREATE VIEW v(a, b) AS ... */
  readonly columns: readonly string[] | undefined;
  readonly sql: string;
}

export interface TriggerDef {
  readonly type: 'trigger';
  readonly name: string;
  readonly schema: string | undefined;
  readonly temp: boolean;
  readonly ifNotExists: boolean;
  /** The table (or view) the trigger is attached to. */
  readonly table: string;
  readonly sql: string;
}

export type SchemaObjectDef = TableDef | IndexDef | ViewDef | TriggerDef;

/**
 * One column of an index b-tree entry, as PRAGMA index_xinfo lists it: the key columns, then
 * the columns that make the entry unique (the rowid, or a WITHOUT ROWID table's PRIMARY KEY).
 */
export interface IndexColumn {
  /** Table column index; -1 the rowid; -2 an expression. */
  readonly column: number;
  /** Column name (null for the rowid and expressions, as PRAGMA index_xinfo shows). */
  readonly name: string | null;
  /** Collating sequence in force for this column ('BINARY' for the rowid). */
  readonly collation: string;
  readonly desc: boolean;
  /** True for key columns, false for the trailing rowid / PRIMARY KEY columns. */
  readonly key: boolean;
  /** Source text for expression columns. */
  readonly expr?: string;
}

/** An index SQLite creates by itself for a PRIMARY KEY or UNIQUE constraint. */
export interface AutoIndex {
  /** sqlite_autoindex_<table>_<N>. */
  readonly name: string;
  /** 'pk' for the PRIMARY KEY, 'u' for a UNIQUE constraint (PRAGMA index_list.origin). */
  readonly origin: 'pk' | 'u';
  readonly onConflict: ConflictResolution | undefined;
  /** Every column of an index entry, key columns first (PRAGMA index_xinfo order). */
  readonly columns: readonly IndexColumn[];
  /** Number of key columns (the leading entries of `columns` with key = true). */
  readonly nKey: number;
  /**
   * False only for a WITHOUT ROWID table's PRIMARY KEY: that "index" is the table b-tree
   * itself and has no row (and no root page of its own) in sqlite_schema.
   */
  readonly inSchema: boolean;
}
