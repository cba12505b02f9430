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

/// One sysfs entry (a kobject directory or an attribute): the handle the simulation
/// keeps, so it never parses a path while it runs.
public final class SysfsNode {
    public internal(set) var name: String
    /// A directory's entries (always empty for an attribute). Not optional, so that
    /// adding or removing one entry mutates the dictionary in place: an optional's
    /// force-unwrapped mutation could copy a `statistics` directory of 4096 CPUs per move.
    var children: [String: SysfsNode] = [:]
    public let isDirectory: Bool
    var show: SysfsShow?
    var store: SysfsStore?
    public internal(set) weak var parent: SysfsNode?
    init(directory name: String) { self.name = name; isDirectory = true }
    init(attribute name: String, show: SysfsShow?, store: SysfsStore?) {
        self.name = name; self.show = show; self.store = store; isDirectory = false
    }
    /// How many entries a directory holds (0 for an attribute).
    public var childCount: Int { children.count }
    /// The absolute path (built on demand: for messages and fault-site details).
    public var path: String {
        var parts: [String] = []
        var n: SysfsNode? = self
        while let c = n, c.parent != nil { parts.append(c.name); n = c.parent }
        return "/" + parts.reversed().joined(separator: "/")
    }
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
    typealias Node = SysfsNode

    private let machine: Machine
    private let root = Node(directory: "")
    /// `/sys`: where every absolute path starts.
    public let sys: SysfsNode

    init(machine: Machine) {
        self.machine = machine
        sys = Node(directory: "sys")
        sys.parent = root
        root.children["sys"] = sys
    }

    private static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private func node(_ parts: some Collection<String>) -> Node? {
        var n = root
        for p in parts {
            guard let c = n.children[p] else { return nil }
            n = c
        }
        return n
    }

    /// The node at an absolute path, if any: paths are parsed only here, when a user (a
    /// command, a test, a view) names a file; the simulation itself holds handles.
    public func node(at path: String) -> SysfsNode? { node(Self.components(path)) }
    /// The entry `name` of directory `dir`, if any.
    public func child(_ name: String, of dir: SysfsNode) -> SysfsNode? { dir.children[name] }
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

    /// Checks a new entry's parent, passes the fault seam and charges the cost.
    private func prepareCreate(_ name: String, in parent: Node, checked: Bool) throws(Errno) {
        guard parent.isDirectory else { throw .notDirectory }
        guard parent.children[name] == nil else { throw .exists }
        if checked {
            try machine.check(.sysfsCreate, detail: parent.path + "/" + name)
            machine.advance(machine.cost.sysfsObject)
        }
    }

    /// Splits a path into its existing parent directory and the new entry's name.
    private func parentAndName(_ path: String) throws(Errno) -> (Node, String) {
        let parts = Self.components(path)
        guard let name = parts.last else { throw .exists }
        guard let parent = node(parts.dropLast()) else { throw .noEntry }
        return (parent, name)
    }

    /// Creates one directory. Mirrors `kobject_create_and_add` (lib/kobject.c).
    /// - Throws: `ENOENT` if the parent is missing, `EEXIST` if the name is taken,
    ///   `ENOTDIR` if the parent is an attribute, `ENOMEM` when injected.
    public func mkdir(_ path: String) throws(Errno) {
        let (parent, name) = try parentAndName(path)
        try mkdir(name, in: parent, checked: true)
    }

    /// Creates directory `name` in `parent` and returns its handle (as `mkdir(_:)`).
    @discardableResult
    public func mkdir(_ name: String, in parent: SysfsNode) throws(Errno) -> SysfsNode {
        try mkdir(name, in: parent, checked: true)
    }

    @discardableResult
    func mkdir(_ name: String, in parent: Node, checked: Bool) throws(Errno) -> Node {
        try prepareCreate(name, in: parent, checked: checked)
        let n = Node(directory: name)
        n.parent = parent
        parent.children[name] = n
        return n
    }

    /// Creates every missing directory along `path` (boot-time helper, never injected).
    @discardableResult
    func mkdirs(_ path: String) -> Node {
        var n = root
        for p in Self.components(path) {
            if let c = n.children[p] { n = c; continue }
            let c = Node(directory: p)
            c.parent = n
            if n.isDirectory { n.children[p] = c }
            n = c
        }
        return n
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
        let (parent, name) = try parentAndName(path)
        try createFile(name, in: parent, show: show, store: store, checked: checked)
    }

    /// Creates attribute `name` in `parent` (as `createFile(_:show:store:)`).
    public func createFile(_ name: String, in parent: SysfsNode, show: SysfsShow?, store: SysfsStore? = nil) throws(Errno) {
        try createFile(name, in: parent, show: show, store: store, checked: true)
    }

    func createFile(_ name: String, in parent: Node, show: SysfsShow?, store: SysfsStore?, checked: Bool) throws(Errno) {
        try prepareCreate(name, in: parent, checked: checked)
        let n = Node(attribute: name, show: show, store: store)
        n.parent = parent
        parent.children[name] = n
    }

    // MARK: Reused storage (objects built once, attached and charged per use)

    /// A directory outside the tree: storage a layer fills once (names and methods built
    /// once) and then attaches with `attach` each time the kernel would create it.
    public func makeDetachedDirectory(_ name: String) -> SysfsNode { Node(directory: name) }

    /// Adds a directory to a detached directory: no fault seam and no cost here; the
    /// creation is charged by `chargeCreate` when the owner is attached.
    @discardableResult
    public func addDetachedDirectory(_ name: String, in dir: SysfsNode) -> SysfsNode {
        let n = Node(directory: name)
        n.parent = dir
        dir.children[name] = n
        return n
    }

    /// Adds an attribute to a detached directory (see `addDetachedDirectory`).
    public func addDetachedFile(_ name: String, in dir: SysfsNode, show: SysfsShow?, store: SysfsStore? = nil) {
        let n = Node(attribute: name, show: show, store: store)
        n.parent = dir
        dir.children[name] = n
    }

    /// Attaches a detached directory as `name` in `parent`: creating its kobject, with the
    /// checks, fault seam and cost of `mkdir(_:in:)`. Its entries are charged separately,
    /// in creation order, with `chargeCreate`.
    /// - Throws: as `mkdir(_:in:)`; nothing is attached then.
    public func attach(_ node: SysfsNode, as name: String, in parent: SysfsNode) throws(Errno) {
        precondition(node.parent == nil, "attach takes a detached node")
        try prepareCreate(name, in: parent, checked: true)
        node.name = name
        node.parent = parent
        parent.children[name] = node
    }

    /// Charges the creation of entry `name` of an attached reused directory (it exists
    /// already): the fault seam and cost `createFile`/`mkdir` would charge, so a run with
    /// reused storage is step for step the run that builds every object.
    public func chargeCreate(_ name: String, in parent: SysfsNode) throws(Errno) {
        try machine.check(.sysfsCreate, detail: parent.path + "/" + name)
        machine.advance(machine.cost.sysfsObject)
    }

    /// Drops entry `name` of `parent` without charging anything: for reused storage whose
    /// entry the kernel never got to create (its creation failed first).
    public func discard(_ name: String, in parent: SysfsNode) {
        parent.children[name]?.parent = nil
        parent.children[name] = nil
    }

    /// Moves a directory or attribute to a new path (new parent and/or name). Mirrors
    /// `kobject_move` (lib/kobject.c), which the driver uses to hand `statistics/cpuN`
    /// from the root cell to a new cell and back.
    /// - Throws: `ENOENT` if the source or the new parent is missing, `EEXIST` if the
    ///   destination exists, `EINVAL` when moving a directory into itself.
    public func move(_ from: String, to: String) throws(Errno) {
        let src = Self.components(from), dst = Self.components(to)
        guard let name = src.last, let oldParent = self.node(src.dropLast()) else { throw .noEntry }
        guard let newName = dst.last, let newParent = self.node(dst.dropLast()) else { throw .noEntry }
        try move(name, from: oldParent, to: newParent, as: newName)
    }

    /// Moves entry `name` of `from` into directory `to` (under `newName`, default the same).
    public func move(_ name: String, from: SysfsNode, to: SysfsNode, as newName: String? = nil) throws(Errno) {
        guard let node = from.children[name] else { throw .noEntry }
        let newName = newName ?? name
        guard to.isDirectory else { throw .notDirectory }
        guard to.children[newName] == nil else { throw .exists }
        var p: Node? = to
        while let q = p {
            if q === node { throw .invalidArgument }
            p = q.parent
        }
        machine.advance(machine.cost.sysfsObject)
        from.children[name] = nil
        node.name = newName
        node.parent = to
        to.children[newName] = node
    }

    /// Removes an entry and everything below it. Mirrors `kobject_del`/`sysfs_remove_file`.
    /// - Throws: `ENOENT` if nothing is there.
    public func remove(_ path: String) throws(Errno) {
        let parts = Self.components(path)
        guard let name = parts.last, let parent = node(parts.dropLast()) else { throw .noEntry }
        try remove(name, from: parent)
    }

    /// Removes entry `name` of `parent` and everything below it.
    public func remove(_ name: String, from parent: SysfsNode) throws(Errno) {
        guard let n = parent.children[name] else { throw .noEntry }
        machine.advance(machine.cost.sysfsObject)
        n.parent = nil
        parent.children[name] = nil
    }

    /// The names in a directory, sorted by byte order (callers sort differently if they
    /// need `cpu10` after `cpu9`).
    /// - Throws: `ENOENT` if missing, `ENOTDIR` for an attribute.
    public func list(_ path: String) throws(Errno) -> [String] {
        guard let n = node(Self.components(path)) else { throw .noEntry }
        guard n.isDirectory else { throw .notDirectory }
        let c = n.children
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
            for k in n.children.keys.sorted() { visit(n.children[k]!, p + "/" + k) }
        }
        visit(n, "/" + Self.components(path).joined(separator: "/"))
        return out
    }
}
