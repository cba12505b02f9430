/// `jhsim draw states`: the CPU hotplug and cell state machines, labelled with the C
/// functions that move between states, as Graphviz DOT or as a self-contained SVG (a
/// lab room may have no Graphviz). Both are drawn from one model, so they cannot drift.
public enum StatesDOT {
    struct Node {
        var id: String
        var label: String
        /// Centre of the node in the SVG, in pixels.
        var x: Double, y: Double
        var shape: Shape = .box
        enum Shape { case box, point, final }
    }
    struct Edge {
        var from: String, to: String
        var label: String
        /// How far the SVG curve bends to the right of its direction (0: straight).
        var bend: Double = 30
    }
    struct Machine {
        var id: String
        var title: String
        var nodes: [Node]
        var edges: [Edge]
        /// The frame of the cluster in the SVG: x, y, width, height.
        var frame: (Double, Double, Double, Double)
    }

    static let hotplug = Machine(
        id: "hotplug", title: "Linux CPU hotplug (kernel/cpu.c), as the driver uses it",
        nodes: [
            Node(id: "online", label: "online\n(in cpu_online_mask,\nroot cell)", x: 170, y: 110),
            Node(id: "offline", label: "offline\n(root cell)", x: 170, y: 300),
            Node(id: "given", label: "offline, given to a cell\n(in offlined_cpus)", x: 560, y: 205),
        ],
        edges: [
            Edge(from: "online", to: "offline", label: "cpu offline N\n(admin, cpu_down)", bend: 60),
            Edge(from: "offline", to: "online", label: "cpu online N\n(admin, cpu_up)", bend: 60),
            Edge(from: "online", to: "given", label: "cell create:\nremove_cpu", bend: 25),
            Edge(from: "offline", to: "given", label: "cell create\n(already offline)", bend: 25),
            Edge(from: "given", to: "online", label: "cell destroy / rollback:\nadd_cpu", bend: 25),
            Edge(from: "given", to: "offline", label: "add_cpu fails\n(quirk 5)", bend: 25),
        ],
        frame: (20, 40, 760, 330))

    static let cell = Machine(
        id: "cell", title: "Non-root cell (comm region cell_state, hypervisor/control.c)",
        nodes: [
            Node(id: "none", label: "", x: 45, y: 600, shape: .point),
            Node(id: "shut_down", label: "shut down\n(CPUs parked)", x: 250, y: 600),
            Node(id: "loadable", label: "shut down, loadable\n(loadable regions in root)", x: 470, y: 470),
            Node(id: "running", label: "running", x: 470, y: 760),
            Node(id: "locked", label: "running/locked", x: 230, y: 900),
            Node(id: "failed", label: "failed", x: 760, y: 900),
            Node(id: "commrev", label: "Comm ABI mismatch", x: 500, y: 960),
            Node(id: "gone", label: "destroyed", x: 860, y: 600, shape: .final),
        ],
        edges: [
            Edge(from: "none", to: "shut_down", label: "CELL_CREATE", bend: 0),
            Edge(from: "shut_down", to: "loadable", label: "CELL_SET_LOADABLE\n(cell load / shutdown)", bend: -20),
            Edge(from: "loadable", to: "loadable", label: "load images"),
            Edge(from: "shut_down", to: "running", label: "CELL_START", bend: -20),
            Edge(from: "loadable", to: "running", label: "CELL_START", bend: 25),
            Edge(from: "running", to: "locked", label: "inmate locks", bend: 25),
            Edge(from: "locked", to: "running", label: "inmate unlocks", bend: 25),
            Edge(from: "running", to: "loadable", label: "cell shutdown\n(consent)", bend: 25),
            Edge(from: "running", to: "failed", label: "all CPUs panic-park\nor reply timeout", bend: 20),
            Edge(from: "running", to: "commrev", label: "inmate has wrong\ncomm ABI", bend: 10),
            Edge(from: "running", to: "shut_down", label: "inmate shuts down", bend: 40),
            Edge(from: "shut_down", to: "gone", label: "CELL_DESTROY", bend: -22),
            Edge(from: "loadable", to: "gone", label: "CELL_DESTROY", bend: 20),
            Edge(from: "running", to: "gone", label: "CELL_DESTROY\n(consent)", bend: -20),
            Edge(from: "failed", to: "gone", label: "CELL_DESTROY", bend: -20),
            Edge(from: "commrev", to: "gone", label: "CELL_DESTROY", bend: -60),
        ],
        frame: (20, 400, 920, 610))

    static let machines = [hotplug, cell]

    /// Graphviz DOT (`dot -Tsvg`).
    public static func render() -> String {
        func q(_ s: String) -> String { s.replacingOccurrences(of: "\n", with: "\\n") }
        var s = """
        digraph jailhouse_states {
          rankdir=LR;
          node [shape=box, style="rounded,filled", fillcolor="#eceff1", fontname="sans-serif"];
          edge [fontname="sans-serif", fontsize=10];

        """
        for (k, m) in machines.enumerated() {
            s += "  subgraph cluster_\(m.id) {\n    label=\"\(m.title)\";\n"
            for n in m.nodes {
                switch n.shape {
                case .point: s += "    \(n.id) [shape=point];\n"
                case .final: s += "    \(n.id) [shape=doublecircle, label=\"\(q(n.label))\", fillcolor=\"#ffffff\"];\n"
                case .box: s += "    \(n.id) [label=\"\(q(n.label))\"];\n"
                }
            }
            for e in m.edges { s += "    \(e.from) -> \(e.to) [label=\"\(q(e.label))\"];\n" }
            s += "  }\n"
            if k < machines.count - 1 { s += "\n" }
        }
        return s + "}\n"
    }

    /// The same two machines as SVG, laid out by hand, with no external fonts or scripts.
    public static func renderSVG() -> String {
        func f(_ v: Double) -> String {
            let r = (v * 10).rounded() / 10
            return r == r.rounded() ? String(Int(r)) : String(r)
        }
        let width = 960.0, height = 1040.0
        var s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<title>jhsim: the CPU hotplug and cell state machines</title>\n"
        s += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#37474f\"/></marker></defs>\n"
        s += "<rect x=\"0\" y=\"0\" width=\"\(f(width))\" height=\"\(f(height))\" fill=\"#ffffff\"/>\n"
        for m in machines {
            let (fx, fy, fw, fh) = m.frame
            s += "<g id=\"\(m.id)\">\n"
            s += "<rect x=\"\(f(fx))\" y=\"\(f(fy))\" width=\"\(f(fw))\" height=\"\(f(fh))\" rx=\"8\" fill=\"none\" stroke=\"#90a4ae\"/>\n"
            s += "<text x=\"\(f(fx + 12))\" y=\"\(f(fy + 20))\" font-size=\"14\" font-weight=\"bold\">\(TimelineSVG.esc(m.title))</text>\n"
            let byID = Dictionary(uniqueKeysWithValues: m.nodes.map { ($0.id, $0) })
            for e in m.edges {
                guard let a = byID[e.from], let b = byID[e.to] else { continue }
                s += edgeSVG(e, a, b, f)
            }
            for n in m.nodes { s += nodeSVG(n, f) }
            s += "</g>\n"
        }
        return s + "</svg>\n"
    }

    /// Half the width and height of a node's box, from its text.
    static func halfSize(_ n: Node) -> (Double, Double) {
        switch n.shape {
        case .point: return (5, 5)
        case .final: return (42, 42)
        case .box:
            let lines = n.label.split(separator: "\n")
            let longest = lines.map(\.count).max() ?? 1
            return (Double(longest) * 3.6 + 12, Double(lines.count) * 8 + 8)
        }
    }

    static func nodeSVG(_ n: Node, _ f: (Double) -> String) -> String {
        let (hw, hh) = halfSize(n)
        var s = ""
        switch n.shape {
        case .point:
            s += "<circle cx=\"\(f(n.x))\" cy=\"\(f(n.y))\" r=\"5\" fill=\"#263238\"/>\n"
            return s
        case .final:
            s += "<circle cx=\"\(f(n.x))\" cy=\"\(f(n.y))\" r=\"\(f(hw))\" fill=\"#ffffff\" stroke=\"#37474f\"/>\n"
            s += "<circle cx=\"\(f(n.x))\" cy=\"\(f(n.y))\" r=\"\(f(hw - 4))\" fill=\"#ffffff\" stroke=\"#37474f\"/>\n"
        case .box:
            s += "<rect x=\"\(f(n.x - hw))\" y=\"\(f(n.y - hh))\" width=\"\(f(2 * hw))\" height=\"\(f(2 * hh))\" rx=\"8\" fill=\"#eceff1\" stroke=\"#37474f\"/>\n"
        }
        let lines = n.label.split(separator: "\n").map(String.init)
        for (i, l) in lines.enumerated() {
            let y = n.y + (Double(i) - Double(lines.count - 1) / 2) * 16 + 4
            s += "<text x=\"\(f(n.x))\" y=\"\(f(y))\" text-anchor=\"middle\">\(TimelineSVG.esc(l))</text>\n"
        }
        return s
    }

    /// Where the ray from the centre of `n` towards (dx, dy) leaves its shape.
    static func border(_ n: Node, towards dx: Double, _ dy: Double) -> (Double, Double) {
        let (hw, hh) = halfSize(n)
        let len = max(0.001, (dx * dx + dy * dy).squareRoot())
        if n.shape != .box { return (n.x + dx / len * hw, n.y + dy / len * hh) }
        let t = min(hw / max(0.001, abs(dx)), hh / max(0.001, abs(dy)))
        return (n.x + dx * t, n.y + dy * t)
    }

    static func edgeSVG(_ e: Edge, _ a: Node, _ b: Node, _ f: (Double) -> String) -> String {
        var s = ""
        let labelLines = e.label.split(separator: "\n").map(String.init)
        var lx: Double, ly: Double
        if a.id == b.id {
            // A loop above the node.
            let (hw, hh) = halfSize(a)
            let x0 = a.x + hw * 0.4, x1 = a.x + hw * 0.8, y = a.y - hh
            s += "<path d=\"M \(f(x0)) \(f(y)) C \(f(x0)) \(f(y - 40)), \(f(x1)) \(f(y - 40)), \(f(x1)) \(f(y))\" fill=\"none\" stroke=\"#37474f\" marker-end=\"url(#arrow)\"/>\n"
            lx = (x0 + x1) / 2; ly = y - 44
        } else {
            let dx = b.x - a.x, dy = b.y - a.y
            let len = max(0.001, (dx * dx + dy * dy).squareRoot())
            // The control point sits `bend` to the right of the straight line's middle.
            let nx = -dy / len, ny = dx / len
            let cx = (a.x + b.x) / 2 + nx * e.bend * 2, cy = (a.y + b.y) / 2 + ny * e.bend * 2
            let (sx, sy) = border(a, towards: cx - a.x, cy - a.y)
            let (ex, ey) = border(b, towards: cx - b.x, cy - b.y)
            s += "<path d=\"M \(f(sx)) \(f(sy)) Q \(f(cx)) \(f(cy)) \(f(ex)) \(f(ey))\" fill=\"none\" stroke=\"#37474f\" marker-end=\"url(#arrow)\"/>\n"
            // The curve's middle is halfway between the chord's middle and the control point.
            lx = ((sx + ex) / 2 + cx) / 2; ly = ((sy + ey) / 2 + cy) / 2
        }
        let top = ly - Double(labelLines.count - 1) * 7
        for (i, l) in labelLines.enumerated() {
            let y = top + Double(i) * 13 + 4
            s += "<text x=\"\(f(lx))\" y=\"\(f(y))\" text-anchor=\"middle\" font-size=\"10.5\" fill=\"#1a237e\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\">\(TimelineSVG.esc(l))</text>\n"
        }
        return s
    }
}
