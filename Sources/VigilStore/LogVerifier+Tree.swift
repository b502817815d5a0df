import Dispatch
import Foundation
import GRDB
import Synchronization
import VigilModel

// The Merkle tree: recomputed from the leaves and compared with the stored nodes and every checkpoint.

extension LogVerifier.Run {
    /// Adds an entry's leaf to the recomputed tree; each stored node it completes must equal the
    /// recomputed one.
    mutating func extendTree(_ leaf: [UInt8], at position: Int64) -> Bool {
        guard var grown = tree else { return true }
        var completed: [(level: Int, index: UInt64, hash: [UInt8])] = []
        grown.append(leaf) { level, index, hash in
            if level % LogTree.tileHeight == 0 { completed.append((level, index, hash)) }
        }
        tree = grown
        for node in completed {
            let stored = try? log.treeNode(level: node.level, index: node.index)
            guard let stored, stored == node.hash else {
                fail(
                    position,
                    "the Merkle tree's node at level \(node.level), index \(node.index) is missing or does not follow from the entries"
                )
                return false
            }
        }
        if checkpointSizes.contains(position) { rootAtSize[position] = grown.root }
        return true
    }

    /// The stored tree holds nothing beyond the entries, and every checkpoint (since the start of this
    /// check) names the recomputed root of its size and carries a valid signature of a daemon key.
    mutating func checkTree() throws -> Int {
        guard let tree else { return 0 }
        let size = expected - 1
        precondition(tree.size == UInt64(size))
        for (level, count) in try log.treeLevelCounts() {
            let expectedCount = level > 0 && level % LogTree.tileHeight == 0 && level < 64 ? size >> level : 0
            if count != expectedCount {
                fail(
                    size + 1,
                    "the Merkle tree holds \(count) nodes at level \(level) where \(size) entries make \(expectedCount): entries were removed or nodes added"
                )
                return 0
            }
        }
        var checked = 0
        for checkpoint in checkpoints {
            guard checkpoint.size <= size else {
                fail(
                    size + 1,
                    "the log holds \(size) entries but the daemon issued a checkpoint of size \(checkpoint.size): entries were removed"
                )
                continue
            }
            guard let root = rootAtSize[checkpoint.size], root == checkpoint.rootHash else {
                fail(
                    max(checkpoint.size, 1),
                    "the tree's root differs from the checkpoint of size \(checkpoint.size)")
                continue
            }
            guard let note = try? SignedNote(parsing: checkpoint.note),
                let statement = try? LogCheckpoint(text: note.text),
                statement.size == UInt64(checkpoint.size), statement.rootHash == root
            else {
                fail(max(checkpoint.size, 1), "the checkpoint of size \(checkpoint.size) is malformed")
                continue
            }
            if options.checkSignatures {
                let signed = daemonKeys(atSize: checkpoint.size).contains { anchor in
                    guard let key = try? VerifyingKey(rawRepresentation: anchor.publicKey),
                        let noteKey = try? NoteKey(name: statement.origin, publicKey: key)
                    else { return false }
                    return (try? note.verify(by: noteKey)) != nil
                }
                guard signed else {
                    fail(
                        max(checkpoint.size, 1),
                        "the checkpoint of size \(checkpoint.size) does not carry a valid signature of the daemon's key"
                    )
                    continue
                }
            }
            checked += 1
        }
        return checked
    }
}
