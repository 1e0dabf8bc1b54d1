/// A map from `RequestID` to `Value`: the client's per-request tables (the pool's requests, the
/// shell's continuations), looked up ~10 times a request.
///
/// Why not `Dictionary`: its lookups hash the id with `Hasher` (SipHash, ~200 instructions each
/// under callgrind, ~2,000 of a 100-byte request's ~106,000 in the pool and the shell). Ids are
/// sequential integers, so a multiplicative (Fibonacci) hash spreads them over a power-of-two table
/// with open addressing and linear probing; deletion shifts the following entries back, so there
/// are no tombstones. At most half the slots are used, and the table halves when fewer than an
/// eighth are, so its memory follows the requests in flight, not the most there ever were.
///
/// Iteration order is the slots' order (unspecified), like `Dictionary`'s.
public struct RequestTable<Value: Sendable>: Sendable {
    @usableFromInline var ids: [Int]
    @usableFromInline var slots: [Value?]
    @usableFromInline var shift: Int
    @usableFromInline var _count = 0
    /// Entries in the table.
    public var count: Int { _count }

    @usableFromInline static var empty: Int { .min }
    @usableFromInline static var minimumCapacity: Int { 16 }

    /// An empty table.
    public init() {
        ids = Array(repeating: Self.empty, count: Self.minimumCapacity)
        slots = Array(repeating: nil, count: Self.minimumCapacity)
        shift = 64 - Self.minimumCapacity.trailingZeroBitCount
    }

    /// No entries.
    public var isEmpty: Bool { count == 0 }

    @inlinable
    func home(_ raw: Int) -> Int {
        Int(truncatingIfNeeded: (UInt64(truncatingIfNeeded: raw) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
    }

    /// The slot holding `id`, or `nil`.
    @inlinable
    func slot(of id: RequestID) -> Int? {
        let mask = ids.count - 1
        var i = home(id.rawValue)
        while true {
            let k = ids[i]
            if k == id.rawValue { return i }
            if k == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }

    /// The value for `id`; setting `nil` removes it.
    @inlinable
    public subscript(id: RequestID) -> Value? {
        get { slot(of: id).flatMap { slots[$0] } }
        set {
            if let newValue { updateValue(newValue, forKey: id) } else { removeValue(forKey: id) }
        }
    }

    /// Whether `id` is in the table.
    @inlinable
    public func contains(_ id: RequestID) -> Bool { slot(of: id) != nil }

    /// Changes the value for `id` in place; `nil` (and `body` not run) when it is not there.
    @inlinable
    public mutating func modify<R>(_ id: RequestID, _ body: (inout Value) -> R) -> R? {
        guard let i = slot(of: id) else { return nil }
        var value = slots[i].take()!
        defer { slots[i] = value }
        return body(&value)
    }

    /// Sets the value for `id`.
    @inlinable
    public mutating func updateValue(_ value: Value, forKey id: RequestID) {
        precondition(id.rawValue != Self.empty, "RequestID(Int.min) is reserved")
        if let i = slot(of: id) {
            slots[i] = value
            return
        }
        if (count + 1) * 2 > ids.count { resize(to: ids.count * 2) }
        let mask = ids.count - 1
        var i = home(id.rawValue)
        while ids[i] != Self.empty { i = (i + 1) & mask }
        ids[i] = id.rawValue
        slots[i] = value
        _count += 1
    }

    /// Removes `id`'s entry; returns its value, or `nil` when it was not there.
    @inlinable
    @discardableResult
    public mutating func removeValue(forKey id: RequestID) -> Value? {
        guard var hole = slot(of: id) else { return nil }
        let value = slots[hole].take()
        ids[hole] = Self.empty
        _count -= 1
        // Backward shift: move each following entry of the run into the hole if its home slot is
        // not cyclically within (hole, j], so every entry stays reachable from its home.
        let mask = ids.count - 1
        var j = hole
        while true {
            j = (j + 1) & mask
            let k = ids[j]
            if k == Self.empty { break }
            let h = home(k)
            let stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j)
            if stays { continue }
            ids[hole] = k
            slots[hole] = slots[j].take()
            ids[j] = Self.empty
            hole = j
        }
        if ids.count > Self.minimumCapacity, count * 8 < ids.count { resize(to: ids.count / 2) }
        return value
    }

    @usableFromInline
    mutating func resize(to capacity: Int) {
        let oldIDs = ids
        var oldSlots = slots
        ids = Array(repeating: Self.empty, count: capacity)
        slots = Array(repeating: nil, count: capacity)
        shift = 64 - capacity.trailingZeroBitCount
        let mask = capacity - 1
        for (j, k) in oldIDs.enumerated() where k != Self.empty {
            var i = home(k)
            while ids[i] != Self.empty { i = (i + 1) & mask }
            ids[i] = k
            slots[i] = oldSlots[j].take()
        }
    }

    /// The ids, in slot order.
    public var keys: [RequestID] { ids.filter { $0 != Self.empty }.map(RequestID.init) }
    /// The values, in slot order (the order of `keys`).
    public var values: [Value] { slots.compactMap { $0 } }
    /// The entries, in slot order.
    public var entries: [(key: RequestID, value: Value)] {
        zip(ids, slots).compactMap { k, v in k == Self.empty ? nil : (RequestID(k), v!) }
    }
    /// Slots allocated (tests: it shrinks again).
    public var capacity: Int { ids.count }
}

extension RequestTable: Equatable where Value: Equatable {
    /// The same ids with equal values, in any slot order.
    public static func == (l: Self, r: Self) -> Bool {
        l.count == r.count && l.entries.allSatisfy { r[$0.key] == $0.value }
    }
}
