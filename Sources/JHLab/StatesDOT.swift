/// `jhsim draw states`: the CPU hotplug and cell state machines as Graphviz DOT,
/// labelled with the C functions that move between states.
public enum StatesDOT {
    public static func render() -> String {
        """
        digraph jailhouse_states {
          rankdir=LR;
          node [shape=box, style="rounded,filled", fillcolor="#eceff1", fontname="sans-serif"];
          edge [fontname="sans-serif", fontsize=10];

          subgraph cluster_hotplug {
            label="Linux CPU hotplug (kernel/cpu.c), as the driver uses it";
            online [label="online\\n(in cpu_online_mask,\\nroot cell)"];
            offline [label="offline\\n(root cell)"];
            given [label="offline, given to a cell\\n(in offlined_cpus)"];
            online -> offline [label="cpu offline N\\n(admin, cpu_down)"];
            offline -> online [label="cpu online N\\n(admin, cpu_up)"];
            online -> given [label="cell create:\\nremove_cpu"];
            offline -> given [label="cell create\\n(already offline)"];
            given -> online [label="cell destroy / rollback:\\nadd_cpu"];
            given -> offline [label="add_cpu fails\\n(quirk 5)"];
          }

          subgraph cluster_cell {
            label="Non-root cell (comm region cell_state, hypervisor/control.c)";
            none [shape=point];
            shut_down [label="shut down\\n(CPUs parked)"];
            loadable [label="shut down, loadable\\n(loadable regions in root)"];
            running [label="running"];
            locked [label="running/locked"];
            failed [label="failed"];
            commrev [label="Comm ABI mismatch"];
            gone [shape=doublecircle, label="destroyed", fillcolor="#ffffff"];
            none -> shut_down [label="CELL_CREATE"];
            shut_down -> loadable [label="CELL_SET_LOADABLE\\n(cell load / shutdown)"];
            loadable -> loadable [label="load images"];
            shut_down -> running [label="CELL_START"];
            loadable -> running [label="CELL_START"];
            running -> locked [label="inmate locks"];
            locked -> running [label="inmate unlocks"];
            running -> loadable [label="cell shutdown\\n(consent)"];
            running -> failed [label="all CPUs panic-park\\nor reply timeout"];
            running -> commrev [label="inmate has wrong\\ncomm ABI"];
            running -> shut_down [label="inmate shuts down"];
            shut_down -> gone [label="CELL_DESTROY"];
            loadable -> gone [label="CELL_DESTROY"];
            running -> gone [label="CELL_DESTROY\\n(consent)"];
            failed -> gone [label="CELL_DESTROY"];
            commrev -> gone [label="CELL_DESTROY"];
          }
        }

        """
    }
}
