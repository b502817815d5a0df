import GRDBSQLite

/// What SQLite's allocator holds in this process, across every connection: page caches, prepared statements,
/// schemas. For the memory metrics (`vigil_sqlite_memory_bytes`), to tell SQLite's bounded caches from growth
/// elsewhere.
package enum SQLiteMemory {
    package static var bytesInUse: Int64 { sqlite3_memory_used() }
}
