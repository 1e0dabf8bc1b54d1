import GoAwayCore
import Testing

/// `StreamTable`: the small-array map the connections keep their streams in.
@Suite struct StreamTableTests {
    @Test func behavesLikeADictionary() {
        var table = StreamTable<Int32, String>()
        var reference: [Int32: String] = [:]
        // Interleaved inserts, updates and removals (a removal moves the last entry into the gap).
        for step in 0..<200 {
            let key = Int32((step * 7) % 23)
            switch step % 5 {
            case 0, 1, 2:
                table[key] = "v\(step)"; reference[key] = "v\(step)"
            case 3:
                #expect(table.removeValue(forKey: key) == reference.removeValue(forKey: key))
            default:
                let changed = table.modify(key) { $0 += "!" }
                if reference[key] != nil { reference[key]! += "!"; #expect(changed != nil) } else { #expect(changed == nil) }
            }
            #expect(table.count == reference.count)
            #expect(Set(table.keys) == Set(reference.keys))
            for (k, v) in reference { #expect(table[k] == v) }
        }
        table.removeAll()
        #expect(table.isEmpty && table[1] == nil)
    }

    @Test func equalityIgnoresOrder() {
        var a = StreamTable<Int32, Int>(), b = StreamTable<Int32, Int>()
        for k: Int32 in [1, 3, 5] { a[k] = Int(k) * 10 }
        for k: Int32 in [5, 1, 3] { b[k] = Int(k) * 10 }
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        b[3] = 31
        #expect(a != b)
        b[3] = 30
        b[7] = 70
        #expect(a != b)
        b[7] = nil
        #expect(a == b && a.hashValue == b.hashValue)
    }
}
