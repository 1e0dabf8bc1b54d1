/// A connection's open streams, by id: two small arrays searched from the newest entry, in place
/// of a `Dictionary`. A connection has at most SETTINGS_MAX_CONCURRENT_STREAMS open (100 by
/// default, about 10 under a typical load), and each request looks its stream up about a dozen
/// times between the machine and the shell: hashing an id cost ~130 instructions a lookup
/// (`Hasher` seed, combine, finalize), a short scan of `Int32`s a few. Order is not kept (a
/// removal moves the last entry into the gap): callers that need one sort the keys. The client's
/// pool and runtime keep their connections in one too (a few per client, looked up several times
/// a request).
///
/// `@inlinable`: the shell (another module) uses it too, and an unspecialised generic there would
/// cost more than the hashing it replaces.
public struct StreamTable<Key: Equatable & Sendable, Value: Sendable>: Sendable {
    @usableFromInline var keys_: [Key] = []
    @usableFromInline var values_: [Value] = []

    /// An empty table.
    @inlinable public init() {}

    /// Whether no stream is in it.
    @inlinable public var isEmpty: Bool { keys_.isEmpty }
    @inlinable public var count: Int { keys_.count }
    /// The keys, in no particular order.
    @inlinable public var keys: [Key] { keys_ }
    /// The values, in no particular order.
    @inlinable public var values: [Value] { values_ }

    @inlinable func index(of key: Key) -> Int? {
        var i = keys_.count
        while i > 0 {
            i -= 1
            if keys_[i] == key { return i }
        }
        return nil
    }

    /// The value for `key`; setting `nil` removes it, setting a new key adds it.
    @inlinable public subscript(key: Key) -> Value? {
        get { index(of: key).map { values_[$0] } }
        set {
            if let i = index(of: key) {
                if let newValue { values_[i] = newValue } else { remove(at: i) }
            } else if let newValue {
                keys_.append(key)
                values_.append(newValue)
            }
        }
        // `table[key]?.field = x` changes the value in place: it leaves the arrays for the change,
        // so a copy-on-write value in it (a `Set`) is not copied (with `get` and `set` it was, once
        // a request in the pool), and comes back at the end, where searches start.
        _modify {
            var value: Value? = nil
            if let i = index(of: key) {
                let last = keys_.count - 1
                if i != last {
                    keys_.swapAt(i, last)
                    values_.swapAt(i, last)
                }
                keys_.removeLast()
                value = values_.removeLast()
            }
            defer {
                if let value {
                    keys_.append(key)
                    values_.append(value)
                }
            }
            yield &value
        }
    }

    /// Changes the value for `key` in place (one search, no copy); `nil` when there is none.
    @inlinable @discardableResult
    public mutating func modify<R>(_ key: Key, _ body: (inout Value) -> R) -> R? {
        guard let i = index(of: key) else { return nil }
        return body(&values_[i])
    }

    /// Removes `key`'s entry and returns its value, if there was one.
    @inlinable @discardableResult
    public mutating func removeValue(forKey key: Key) -> Value? {
        guard let i = index(of: key) else { return nil }
        let value = values_[i]
        remove(at: i)
        return value
    }

    /// Removes every entry, keeping the capacity.
    @inlinable public mutating func removeAll() {
        keys_.removeAll(keepingCapacity: true)
        values_.removeAll(keepingCapacity: true)
    }

    @inlinable mutating func remove(at i: Int) {
        let last = keys_.count - 1
        if i != last {
            keys_.swapAt(i, last)
            values_.swapAt(i, last)
        }
        keys_.removeLast()
        values_.removeLast()
    }
}

/// Equal when they hold the same keys with equal values, in any order (the order of a table
/// depends on its removals, not on what it holds).
extension StreamTable: Equatable where Value: Equatable {
    public static func == (l: StreamTable, r: StreamTable) -> Bool {
        guard l.count == r.count else { return false }
        for (i, key) in l.keys_.enumerated() where r[key] != l.values_[i] { return false }
        return true
    }
}

/// Hashes the entries without their order, as `==` compares them.
extension StreamTable: Hashable where Key: Hashable, Value: Hashable {
    public func hash(into hasher: inout Hasher) {
        var sum = 0
        for (i, key) in keys_.enumerated() {
            var h = Hasher()
            h.combine(key)
            h.combine(values_[i])
            sum &+= h.finalize()
        }
        hasher.combine(count)
        hasher.combine(sum)
    }
}
