import Foundation
package import VigilModel

/// A backup or restore that cannot go ahead, and why.
package struct BackupError: Error, Sendable, CustomStringConvertible {
    package enum Kind: Sendable {
        /// The backup does not check out: its manifest is missing or unreadable, a file is missing or differs
        /// from its sum, or the store copy does not verify.
        case unusable
        /// The restore would overwrite something it must not: a store a running vigild holds, or an existing
        /// store without `--replace`.
        case refused
        /// An I/O error.
        case failed
    }

    package var kind: Kind
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { message }
}

/// What a backup folder holds, written into it last as `manifest.json`.
///
/// ```json
/// {"format":"vigil-backup/1","createdAt":"2026-11-21T02:00:00.000000Z",
///  "log":{"size":1234,"chainHash":"<hex>"},"daemonKeyID":"<hex>",
///  "sources":{"database":"/var/lib/vigil/vigil.sqlite","daemonKey":"/var/lib/vigil/daemon.key",
///             "configuration":"/etc/vigil/vigil.yaml"},
///  "files":[{"name":"vigil.sqlite","size":4096,"sha256":"<hex>"},
///           {"name":"daemon.key","size":119,"sha256":"<hex>"},
///           {"name":"vigil.yaml","size":9000,"sha256":"<hex>"}]}
/// ```
///
/// `log` is the head of the store copy as verification recomputed it; `sources` says where each file was
/// read from (for the operator; a restore writes where its configuration says). No program version is
/// recorded: vigilctl has none to report yet.
package struct BackupManifest: Sendable, Equatable {
    package static let format = "vigil-backup/1"

    package struct File: Sendable, Equatable {
        package var name: String
        package var digest: DurableFile.Digest
    }

    package var createdAt: Timestamp
    package var logSize: Int64
    package var chainHash: [UInt8]
    package var daemonKeyID: String
    package var sources: BackupFolder.Sources
    package var files: [File]

    package func file(named name: String) -> File? { files.first { $0.name == name } }

    var json: [UInt8] {
        let files = files.map { file -> JSONValue in
            .object(
                JSONObject([
                    "name": .string(file.name), "size": .number(JSONNumber(file.digest.size)),
                    "sha256": .string(Hex.encode(file.digest.sha256)),
                ]))
        }
        let object = JSONObject([
            "format": .string(Self.format),
            "createdAt": .string(createdAt.rfc3339),
            "log": .object(
                JSONObject(["size": .number(JSONNumber(logSize)), "chainHash": .string(Hex.encode(chainHash))])),
            "daemonKeyID": .string(daemonKeyID),
            "sources": .object(
                JSONObject([
                    "database": .string(sources.database), "daemonKey": .string(sources.daemonKey),
                    "configuration": .string(sources.configuration),
                ])),
            "files": .array(files),
        ])
        return JSONWriter.bytes(.object(object)) + [0x0A]
    }

    init(
        createdAt: Timestamp, logSize: Int64, chainHash: [UInt8], daemonKeyID: String, sources: BackupFolder.Sources,
        files: [File]
    ) {
        self.createdAt = createdAt
        self.logSize = logSize
        self.chainHash = chainHash
        self.daemonKeyID = daemonKeyID
        self.sources = sources
        self.files = files
    }

    /// Reads a manifest, refusing unknown fields, another format, and any file but the three a backup holds.
    init(parsing bytes: [UInt8]) throws(FieldError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            throw FieldError(path: "", reason: "is not JSON (\(error))")
        }
        let reader = try ObjectReader(
            value, path: "", allowed: ["format", "createdAt", "log", "daemonKeyID", "sources", "files"])
        guard try reader.string("format") == Self.format else {
            throw FieldError(path: "format", reason: "must be \(Self.format)")
        }
        createdAt = try reader.timestamp("createdAt")
        let log = try reader.object("log", allowed: ["size", "chainHash"])
        logSize = Int64(try log.integer("size", in: 0...Int.max))
        chainHash = try Self.hex(log, "chainHash", count: 32)
        daemonKeyID = Hex.encode(try Self.hex(reader, "daemonKeyID", count: 32))
        let sources = try reader.object("sources", allowed: ["database", "daemonKey", "configuration"])
        self.sources = BackupFolder.Sources(
            database: try sources.string("database", maxLength: 4096),
            daemonKey: try sources.string("daemonKey", maxLength: 4096),
            configuration: try sources.string("configuration", maxLength: 4096))
        var files: [File] = []
        for (index, element) in try reader.array("files", maxCount: BackupFolder.fileNames.count).enumerated() {
            let file = try ObjectReader(element, path: "files[\(index)]", allowed: ["name", "size", "sha256"])
            let name = try file.string("name")
            guard BackupFolder.fileNames.contains(name), !files.contains(where: { $0.name == name }) else {
                throw FieldError(path: file.fieldPath("name"), reason: "\(name) is not a file of a backup, or twice")
            }
            files.append(
                File(
                    name: name,
                    digest: DurableFile.Digest(
                        size: Int64(try file.integer("size", in: 0...Int.max)),
                        sha256: try Self.hex(file, "sha256", count: 32))))
        }
        guard files.count == BackupFolder.fileNames.count else {
            throw FieldError(path: "files", reason: "must name \(BackupFolder.fileNames.joined(separator: ", "))")
        }
        self.files = files
    }

    private static func hex(_ reader: ObjectReader, _ key: String, count: Int) throws(FieldError) -> [UInt8] {
        guard let bytes = Hex.decode(try reader.string(key, maxLength: 2 * count)), bytes.count == count else {
            throw FieldError(path: reader.fieldPath(key), reason: "must be \(count) bytes in hex")
        }
        return bytes
    }
}

/// A backup as a folder: the store (an online copy, verified), the daemon's key and the configuration file,
/// and `manifest.json` with the size and SHA-256 of each, written last. A folder without a manifest is an
/// incomplete backup and is never restored.
///
/// The read models are not in it: they are derived from the log, and vigild rebuilds them when their file is
/// missing, which is how a restore leaves them.
package enum BackupFolder {
    package static let storeFile = "vigil.sqlite"
    package static let keyFile = "daemon.key"
    package static let configurationFile = "vigil.yaml"
    package static let manifestFile = "manifest.json"
    static let fileNames = [storeFile, keyFile, configurationFile]

    /// Where a backup's files were read from (absolute paths).
    package struct Sources: Sendable, Equatable {
        package var database: String
        package var daemonKey: String
        package var configuration: String

        package init(database: String, daemonKey: String, configuration: String) {
            self.database = database
            self.daemonKey = daemonKey
            self.configuration = configuration
        }
    }

    /// Writes a backup of `sources` into `folder`, which must not exist or be empty (it is created, or set to,
    /// mode 0700; its parent must exist). Every file is mode 0600 and fsynced; the manifest is written under a
    /// temporary name, fsynced and renamed into place last, then the folder is fsynced.
    ///
    /// - Throws: ``BackupError/Kind/unusable`` when the store copy does not verify (the copy is kept for
    ///   inspection and no manifest is written); ``BackupError/Kind/failed`` on any other error.
    package static func write(
        _ sources: Sources, to folder: String, at now: Timestamp
    ) throws(BackupError)
        -> BackupManifest
    {
        for path in [sources.database, sources.daemonKey, sources.configuration]
        where !FileManager.default.isReadableFile(atPath: path) {
            throw BackupError(.failed, "cannot read \(path); nothing was written")
        }
        try prepare(folder)
        let store = folder + "/" + storeFile
        let report: VerificationReport
        do {
            report = try StoreBackup.run(from: sources.database, to: store)
            try DurableFile.sync(store)
        } catch {
            throw BackupError(.failed, "\(error)")
        }
        if let failure = report.failure {
            throw BackupError(
                .unusable,
                "the copy of \(sources.database) in \(folder) FAILED verification at position \(failure.position): "
                    + "\(failure.reason); no manifest was written, so this is not a backup")
        }
        let keyID: String
        do {
            guard let data = FileManager.default.contents(atPath: sources.daemonKey) else {
                throw BackupError(.failed, "cannot read the daemon key \(sources.daemonKey)")
            }
            do {
                keyID = try KeyFile.signingKey(pem: String(decoding: data, as: UTF8.self)).id.hex
            } catch {
                throw BackupError(.failed, "\(sources.daemonKey) is not the daemon's key: \(error)")
            }
            _ = try DurableFile.copy(sources.daemonKey, to: folder + "/" + keyFile)
            _ = try DurableFile.copy(sources.configuration, to: folder + "/" + configurationFile)
        } catch let error as BackupError {
            throw error
        } catch {
            throw BackupError(.failed, "\(error)")
        }
        do {
            // The sums are of what is in the folder, read back, not of what was meant to be written.
            let files = try fileNames.map { name throws(StoreError) in
                BackupManifest.File(name: name, digest: try DurableFile.digest(of: folder + "/" + name))
            }
            let manifest = BackupManifest(
                createdAt: now, logSize: report.head.size, chainHash: report.head.chainHash, daemonKeyID: keyID,
                sources: sources, files: files)
            let partial = folder + "/" + manifestFile + ".partial"
            try DurableFile.create(partial, contents: manifest.json)
            guard rename(partial, folder + "/" + manifestFile) == 0 else {
                throw StoreError(.io, "cannot rename \(partial): \(String(cString: strerror(errno)))")
            }
            try DurableFile.sync(folder)
            return manifest
        } catch {
            throw BackupError(.failed, "\(error)")
        }
    }

    /// Creates `folder` (mode 0700), or accepts it empty.
    private static func prepare(_ folder: String) throws(BackupError) {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? ["?"]
            guard isFolder.boolValue, contents.isEmpty else {
                throw BackupError(.failed, "\(folder) exists and is not an empty folder; a backup never overwrites")
            }
        } else if mkdir(folder, 0o700) != 0 {
            throw BackupError(.failed, "cannot create \(folder): \(String(cString: strerror(errno)))")
        }
        guard chmod(folder, 0o700) == 0 else {
            throw BackupError(.failed, "cannot set \(folder) to mode 0700: \(String(cString: strerror(errno)))")
        }
    }

    /// Checks a backup folder before anything is restored from it: the manifest is there and readable, every
    /// file it names is there with its size and SHA-256, the store copy verifies (``LogVerifier``) to the head
    /// the manifest records, and the key file is a key with the recorded id.
    ///
    /// - Throws: ``BackupError/Kind/unusable``, naming the first thing that does not check out.
    package static func check(_ folder: String) throws(BackupError) -> BackupManifest {
        let manifestPath = folder + "/" + manifestFile
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw BackupError(
                .unusable,
                "\(folder) has no \(manifestFile): an incomplete backup (the manifest is written last), or not a backup"
            )
        }
        let manifest: BackupManifest
        do {
            manifest = try BackupManifest(parsing: Array(data))
        } catch {
            throw BackupError(.unusable, "\(manifestPath): \(error)")
        }
        for file in manifest.files {
            let path = folder + "/" + file.name
            guard FileManager.default.fileExists(atPath: path) else {
                throw BackupError(.unusable, "\(path) is missing")
            }
            let found: DurableFile.Digest
            do {
                found = try DurableFile.digest(of: path)
            } catch {
                throw BackupError(.unusable, "\(error)")
            }
            guard found == file.digest else {
                throw BackupError(
                    .unusable,
                    "\(path) does not match the manifest: \(found.size) bytes with SHA-256 \(Hex.encode(found.sha256)), "
                        + "the manifest says \(file.digest.size) bytes with SHA-256 \(Hex.encode(file.digest.sha256))")
            }
        }
        let store = folder + "/" + storeFile
        let report: VerificationReport
        do {
            report = try LogVerifier.verify(path: store)
        } catch {
            throw BackupError(.unusable, "\(store) does not verify: \(error)")
        }
        if let failure = report.failure {
            throw BackupError(
                .unusable, "\(store) FAILED verification at position \(failure.position): \(failure.reason)")
        }
        guard report.head.size == manifest.logSize, report.head.chainHash == manifest.chainHash else {
            throw BackupError(
                .unusable,
                "\(store) ends at size \(report.head.size), chainHash \(Hex.encode(report.head.chainHash)); "
                    + "the manifest says size \(manifest.logSize), chainHash \(Hex.encode(manifest.chainHash))")
        }
        let keyPath = folder + "/" + keyFile
        let keyID = FileManager.default.contents(atPath: keyPath).flatMap {
            try? KeyFile.signingKey(pem: String(decoding: $0, as: UTF8.self)).id.hex
        }
        guard keyID == manifest.daemonKeyID else {
            throw BackupError(.unusable, "\(keyPath) is not the key \(manifest.daemonKeyID) the manifest names")
        }
        return manifest
    }
}
