import JHABI
import JHMachine

extension Errno {
    /// No such process. The corresponding C error is `ESRCH`.
    public static let noProcess = Errno(rawValue: 3)
    /// Permission denied. The corresponding C error is `EACCES`.
    public static let accessDenied = Errno(rawValue: 13)
    /// Not a directory. The corresponding C error is `ENOTDIR`.
    public static let notDirectory = Errno(rawValue: 20)
    /// Is a directory. The corresponding C error is `EISDIR`.
    public static let isDirectory = Errno(rawValue: 21)
    /// Resource deadlock would occur. The corresponding C error is `EDEADLK`.
    public static let deadlock = Errno(rawValue: 35)
}

/// Reads an attribute's text (a `show` method).
public typealias SysfsShow = () throws(Errno) -> String
/// Handles a write to an attribute (a `store` method).
public typealias SysfsStore = (String) throws(Errno) -> Void

/// The simulated sysfs: directories (kobjects) and attributes with `show`/`store`
/// closures, where every layer registers its files.
///
/// Mirrors the parts of fs/sysfs and lib/kobject.c the Jailhouse driver relies on:
/// creating directories and attributes (`kobject_add`, `sysfs_create_file`), moving a
/// kobject under another parent (`kobject_move`, used for `statistics/cpuN`) and
/// removing a subtree (`kobject_del`). Paths are absolute, `/sys/...`.
///
/// Creation is a fault site (`sysfs_create`, ENOMEM); reading, listing, moving and
/// removing are not.
public final class Sysfs: @unchecked Sendable {
    final class Node {
        var name: String
        var children: [String: Node]?   // nil for an attribute
        var show: SysfsShow?
        var store: SysfsStore?
        init(directory name: String) { self.name = name; children = [:] }
        init(attribute name: String, show: SysfsShow?, store: SysfsStore?) {
            self.name = name; self.show = show; self.store = store
        }
        var isDirectory: Bool { children != nil }
    }

    private let machine: Machine
    private let root = Node(directory: "")

    init(machine: Machine) {
        self.machine = machine
        root.children!["sys"] = Node(directory: "sys")
    }

    private static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private func node(_ parts: some Collection<String>) -> Node? {
        var n = root
        for p in parts {
            guard let c = n.children?[p] else { return nil }
            n = c
        }
        return n
    }

    /// What is at a path, as `stat` would tell: a directory, or an attribute with or
    /// without read and write methods (mode 0444, 0644, 0200 in the kernel).
    public enum Entry: Hashable, Sendable {
        case directory
        case attribute(readable: Bool, writable: Bool)
    }

    /// What is at `path`, nil when nothing is.
    public func entry(_ path: String) -> Entry? {
        guard let n = node(Self.components(path)) else { return nil }
        return n.isDirectory ? .directory : .attribute(readable: n.show != nil, writable: n.store != nil)
    }

    /// Whether something exists at `path`.
    public func exists(_ path: String) -> Bool { node(Self.components(path)) != nil }
    public func isDirectory(_ path: String) -> Bool { node(Self.components(path))?.isDirectory ?? false }

    /// Finds the parent directory for a new entry; checks the fault seam and charges the cost.
    private func prepareCreate(_ path: String, checked: Bool) throws(Errno) -> (Node, String) {
        let parts = Self.components(path)
        guard let name = parts.last else { throw .exists }
        guard let parent = node(parts.dropLast()) else { throw .noEntry }
        guard parent.isDirectory else { throw .notDirectory }
        guard parent.children![name] == nil else { throw .exists }
        if checked {
            try machine.check(FaultSite(LinuxFaultSites.sysfsCreate, detail: path))
            machine.advance(machine.cost.sysfsObject)
        }
        return (parent, name)
    }

    /// Creates one directory. Mirrors `kobject_create_and_add` (lib/kobject.c).
    /// - Throws: `ENOENT` if the parent is missing, `EEXIST` if the name is taken,
    ///   `ENOTDIR` if the parent is an attribute, `ENOMEM` when injected.
    public func mkdir(_ path: String) throws(Errno) {
        try mkdir(path, checked: true)
    }

    func mkdir(_ path: String, checked: Bool) throws(Errno) {
        let (parent, name) = try prepareCreate(path, checked: checked)
        parent.children![name] = Node(directory: name)
    }

    /// Creates every missing directory along `path` (boot-time helper, never injected).
    func mkdirs(_ path: String) {
        var n = root
        for p in Self.components(path) {
            if let c = n.children?[p] { n = c; continue }
            let c = Node(directory: p)
            n.children?[p] = c
            n = c
        }
    }

    /// Creates an attribute. Mirrors `sysfs_create_file` (fs/sysfs/file.c).
    /// - Parameters:
    ///   - show: the read method; nil makes reads fail with `EACCES` (write-only file).
    ///   - store: the write method; nil makes writes fail with `EACCES`.
    /// - Throws: as `mkdir`.
    public func createFile(_ path: String, show: SysfsShow?, store: SysfsStore? = nil) throws(Errno) {
        try createFile(path, show: show, store: store, checked: true)
    }

    func createFile(_ path: String, show: SysfsShow?, store: SysfsStore? = nil, checked: Bool) throws(Errno) {
        let (parent, name) = try prepareCreate(path, checked: checked)
        parent.children![name] = Node(attribute: name, show: show, store: store)
    }

    /// Moves a directory or attribute to a new path (new parent and/or name). Mirrors
    /// `kobject_move` (lib/kobject.c), which the driver uses to hand `statistics/cpuN`
    /// from the root cell to a new cell and back.
    /// - Throws: `ENOENT` if the source or the new parent is missing, `EEXIST` if the
    ///   destination exists, `EINVAL` when moving a directory into itself.
    public func move(_ from: String, to: String) throws(Errno) {
        let src = Self.components(from), dst = Self.components(to)
        guard let name = src.last, let node = node(src), let oldParent = self.node(src.dropLast()) else {
            throw .noEntry
        }
        guard let newName = dst.last, let newParent = self.node(dst.dropLast()) else { throw .noEntry }
        guard newParent.isDirectory else { throw .notDirectory }
        guard newParent.children![newName] == nil else { throw .exists }
        guard !(dst.count > src.count && Array(dst.prefix(src.count)) == src) else { throw .invalidArgument }
        machine.advance(machine.cost.sysfsObject)
        oldParent.children![name] = nil
        node.name = newName
        newParent.children![newName] = node
    }

    /// Removes an entry and everything below it. Mirrors `kobject_del`/`sysfs_remove_file`.
    /// - Throws: `ENOENT` if nothing is there.
    public func remove(_ path: String) throws(Errno) {
        let parts = Self.components(path)
        guard let name = parts.last, let parent = node(parts.dropLast()), parent.children?[name] != nil else {
            throw .noEntry
        }
        machine.advance(machine.cost.sysfsObject)
        parent.children![name] = nil
    }

    /// The names in a directory, sorted by byte order (callers sort differently if they
    /// need `cpu10` after `cpu9`).
    /// - Throws: `ENOENT` if missing, `ENOTDIR` for an attribute.
    public func list(_ path: String) throws(Errno) -> [String] {
        guard let n = node(Self.components(path)) else { throw .noEntry }
        guard let c = n.children else { throw .notDirectory }
        return c.keys.sorted()
    }

    /// Reads an attribute, like `cat`.
    /// - Throws: `ENOENT` if missing, `EISDIR` for a directory, `EACCES` if it has no
    ///   read method, or whatever the `show` method throws.
    public func read(_ path: String) throws(Errno) -> String {
        guard let n = node(Self.components(path)) else { throw .noEntry }
        guard !n.isDirectory else { throw .isDirectory }
        guard let show = n.show else { throw .accessDenied }
        return try show()
    }

    /// Writes an attribute, like `echo value > path`.
    /// - Throws: `ENOENT` if missing, `EISDIR` for a directory, `EACCES` if it has no
    ///   write method, or whatever the `store` method throws.
    public func write(_ path: String, _ value: String) throws(Errno) {
        guard let n = node(Self.components(path)) else {
            // Why `echo 0 > …/cpu0/online` fails: x86 gives CPU 0 no such file.
            machine.record(LinuxTrace.sysfsNoEntry, result: .error(.noEntry), text: path)
            throw .noEntry
        }
        guard !n.isDirectory else { throw .isDirectory }
        guard let store = n.store else { throw .accessDenied }
        try store(value)
    }

    /// Every path below `path`, depth first in sorted order (for views and tests).
    public func walk(_ path: String = "/sys") -> [String] {
        guard let n = node(Self.components(path)) else { return [] }
        var out: [String] = []
        func visit(_ n: Node, _ p: String) {
            out.append(p)
            for k in (n.children ?? [:]).keys.sorted() { visit(n.children![k]!, p + "/" + k) }
        }
        visit(n, "/" + Self.components(path).joined(separator: "/"))
        return out
    }
}
