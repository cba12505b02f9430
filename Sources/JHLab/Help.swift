/// Usage text of the learner-facing commands.
public enum Help {
    /// The `lab init` synopsis, shared by this help and the argument-parser front end.
    public static let labInit =
        "lab init [--cpus N] [--seed S] [--profile upstream|fixed] [--executor dispatch|inline] [--cost NAME=NS]... [--force]"

    static let main = """
    Usage: jhsim COMMAND [ARGS] [--lab DIR] [--fault RULE]... [--caps TEXT]

    A deterministic simulator of the Jailhouse partitioning hypervisor. Commands that
    overlap with the real `jailhouse` tool take the same arguments and print the same
    output and errors.

    The lab (a simulated machine that lives across invocations, in ./.jhsim, --lab DIR
    or $JHSIM_LAB):
      \(Help.labInit)
      lab reset                      power-cycle: drop everything that was done
      lab info                       parameters and the command log

    Like tools/jailhouse.c:
      enable [SYSCONFIG]             default on a 4-CPU lab: the built-in qemu-x86
      disable
      console [-f|--follow]
      cell create CELLCONFIG         a built-in name (tiny-demo, …) works when no such file exists
      cell list [--json]
      cell load {ID|[--name] NAME} {IMAGE | -s|--string STRING} [-a|--address ADDRESS] ...
      cell start {ID|[--name] NAME} [--inmate KIND]
      cell shutdown {ID|[--name] NAME}
      cell destroy {ID|[--name] NAME}
      cell stats {ID|[--name] NAME}

    Beyond the real tool:
      cpu online|offline N           admin CPU hotplug
      cpus [--json]                  every CPU as Linux, the driver and the hypervisor see it
      inmate {ID|[--name] NAME} KIND choose how a cell's inmate behaves
      trace [--last N|--all] [--explain] [--chrome FILE.json]
      draw timeline [-o FILE.svg]    CPU ownership over virtual time
      draw states [-o FILE.dot]      hotplug and cell state machines (Graphviz)
      run SCENARIO [--trace] [--json] [--in-lab]
      demo                           the guided tour (no files needed)
      faults list                    every fault site, for --fault
      faults sweep|campaign|shrink|run  fault-injection research (Docs/fault-injection.md)
      quirks                         upstream quirks and whether the lab's profile has them
      config ...                     check, show, build configurations
      exec [--] COMMAND [ARG]...     run a real program (the real `jailhouse`, chcpu, a shell)
                                     on the lab through libjhsim-preload (Docs/real-tool.md)
      preload-path                   where libjhsim-preload.so is, for LD_PRELOAD
      --version, --help

    --fault 'SITE[:cpu=N][:state=S][:nth=N][:errno=E]' (repeatable) injects a failure
    into a command that runs the machine, e.g. --fault 'cpu_down:cpu=3:nth=1:errno=EBUSY'.
    --caps TEXT runs the command's process with these capabilities (libcap text, e.g. '=').

    """

    /// Usage lines per command, for `jhsim COMMAND --help`.
    static func usage(_ command: String) -> String? {
        switch command {
        case "lab": "usage: jhsim \(labInit)\n       jhsim lab reset\n       jhsim lab info\n"
        case "enable": "usage: jhsim enable [SYSCONFIG]\n  Without SYSCONFIG, a 4-CPU lab uses the built-in qemu-x86 system config.\n"
        case "disable": "usage: jhsim disable\n"
        case "console": "usage: jhsim console [-f|--follow]\n"
        case "cell": """
            usage: jhsim cell create CELLCONFIG
                   jhsim cell list [--json]
                   jhsim cell load {ID|[--name] NAME} {IMAGE | -s|--string STRING} [-a|--address ADDRESS] ...
                   jhsim cell start {ID|[--name] NAME} [--inmate KIND]
                   jhsim cell shutdown {ID|[--name] NAME}
                   jhsim cell destroy {ID|[--name] NAME}
                   jhsim cell stats {ID|[--name] NAME}

            """
        case "cpu": "usage: jhsim cpu online|offline N\n"
        case "cpus": "usage: jhsim cpus [--json]\n"
        case "inmate": "usage: jhsim inmate {ID|[--name] NAME} KIND\n"
        case "trace": "usage: jhsim trace [--last N|--all] [--explain] [--chrome FILE.json]\n"
        case "draw": "usage: jhsim draw timeline [-o FILE.svg]\n       jhsim draw states [-o FILE.dot]\n"
        case "run": "usage: jhsim run SCENARIO [--trace] [--json] [--in-lab]\n"
        case "demo": "usage: jhsim demo\n"
        case "faults": """
            usage: jhsim faults list
                   jhsim faults sweep [SCENARIO] [--profile upstream|fixed] [--sites A,B] [--errnos] [--max-runs N] [--check-expect] [--isolate] [--json]
                   jhsim faults campaign [SCENARIO] --seed S --runs N [--rules-per-run K] [--no-shrink] [--profile P] [--check-expect] [--isolate] [--json]
                   jhsim faults shrink [SCENARIO] --rule RULE... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--isolate] [--json]
                   jhsim faults run [SCENARIO] --rule RULE... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--json]
              Without SCENARIO: the built-in create/start/load/destroy/disable scenario.
              Exit status: 0 clean, 1 usage, 2 invariant violation, 3 hang, 4 expectation failed, 5 trap (--isolate).

            """
        case "quirks": "usage: jhsim quirks\n"
        case "exec": """
            usage: jhsim exec [--lab DIR] [--fault RULE]... [--] COMMAND [ARG]...
              Runs COMMAND with libjhsim-preload.so preloaded and the lab selected: its
              /dev/jailhouse and the simulated sysfs (/sys/devices/jailhouse,
              /sys/devices/system/cpu) are the lab's. --fault rules apply to each ioctl
              and sysfs write it makes (JHSIM_FAULT).

            """
        case "preload-path": "usage: jhsim preload-path\n"
        default: nil
        }
    }
}
