import GoAwayCore
import Testing

/// `RequestTable`: the open-addressing map of the client's per-request tables.
@Suite struct RequestTableTests {
    /// Random inserts, updates, in-place changes and removals against a `Dictionary`, over key
    /// ranges that make long probe runs (so backward-shift deletion is exercised) and that grow
    /// and shrink the table.
    @Test(arguments: [(UInt64(1), 40), (2, 400), (3, 5_000)])
    func behavesLikeADictionary(seed: UInt64, keyRange: Int) {
        var rng = SplitMix64(seed: seed)  // the same ids every run: a failure replays
        var table = RequestTable<Int>()
        var reference: [RequestID: Int] = [:]
        for step in 0..<20_000 {
            // Sequential ids (as the client makes them) with random ones mixed in.
            let raw = step % 3 == 0 ? Int(rng.next() % UInt64(keyRange)) : step % keyRange
            let id = RequestID(raw)
            switch rng.next() % 10 {
            case 0...4:
                table[id] = step
                reference[id] = step
            case 5...7:
                #expect(table.removeValue(forKey: id) == reference.removeValue(forKey: id))
            case 8:
                let changed = table.modify(id) { v -> Int in v += 1; return v }
                if let old = reference[id] {
                    reference[id] = old + 1
                    #expect(changed == old + 1)
                } else {
                    #expect(changed == nil)
                }
            default:
                table[id] = nil
                reference[id] = nil
            }
            #expect(table.count == reference.count)
            if step % 97 == 0 {
                for (k, v) in reference { #expect(table[k] == v) }
                #expect(Set(table.keys) == Set(reference.keys))
                #expect(table.values.sorted() == reference.values.sorted())
            }
            #expect(table.contains(id) == (reference[id] != nil))
        }
        // Empty it: every entry reachable until removed, and the table shrinks back.
        for k in reference.keys.shuffled(using: &rng) {
            #expect(table.removeValue(forKey: k) == reference[k])
        }
        #expect(table.isEmpty && table.capacity == 16)
    }

    @Test func growsAndShrinksWithTheRequestsInFlight() {
        var table = RequestTable<String>()
        for i in 0..<1_000 { table[RequestID(i)] = "r\(i)" }
        #expect(table.count == 1_000 && table.capacity >= 2_000)
        for i in 0..<990 { table[RequestID(i)] = nil }
        #expect(table.count == 10 && table.capacity <= 128)
        for i in 990..<1_000 { #expect(table[RequestID(i)] == "r\(i)") }
    }

    @Test func equalityIgnoresSlotOrder() {
        var a = RequestTable<Int>(), b = RequestTable<Int>()
        for i in [1, 2, 3, 40, 50] { a[RequestID(i)] = i }
        for i in [50, 3, 40, 1, 2] { b[RequestID(i)] = i }
        #expect(a == b)
        b[RequestID(3)] = 4
        #expect(a != b)
    }
}
