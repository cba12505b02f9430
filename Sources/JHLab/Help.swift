import JHConfig

/// Help texts of the learner-facing commands: `jhsim --help`, `jhsim help COMMAND` and
/// `jhsim COMMAND --help` all print from here, so the binary and the in-process runner
/// say the same thing.
public enum Help {
    /// The `lab init` synopsis, shared by the main help and `lab --help`.
    public static let labInit =
        "lab init [--cpus N] [--seed S] [--profile upstream|fixed] [--kernel 5.6|current] [--executor dispatch|inline] [--cost NAME=NS]... [--force]"

    /// The exit status of every usage error (unknown command or option, a missing or bad
    /// argument), as in tools/jailhouse.c.
    public static let usageStatus: Int32 = 1

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
      dmesg                          the simulated kernel log (printk ring)
      cat /sys/PATH...               read sysfs files of the simulated box (a directory is listed)
      ioctl NR                       a raw ioctl(fd, NR, 0) on /dev/jailhouse (quirk 13)
      trace [--last N|--all] [--explain|--brief] [--chrome FILE.json]
      draw timeline [-o FILE.svg]    CPU ownership over virtual time
      draw html [-o FILE.html]       an offline page that walks the trace step by step
      draw states [--format dot|svg] [-o FILE]  hotplug and cell state machines
      run SCENARIO [--profile upstream|fixed] [--kernel 5.6|current] [--trace] [--json] [--in-lab]
      demo                           the guided tour (no files needed)
      faults list                    every fault site, for --fault
      faults sweep|campaign|shrink|run  fault-injection research (Docs/fault-injection.md)
      quirks [--show N]              upstream quirks, how to trigger them, quirk N on both profiles
      config list|check|show|build|synth  built-in and binary configurations
      bench churn|sweep              measure the simulator (Docs/benchmarks.md)
      exec [--] COMMAND [ARG]...     run a real program (the real `jailhouse`, chcpu, a shell)
                                     on the lab through libjhsim-preload (Docs/real-tool.md)
      preload-path                   where libjhsim-preload.so is, for LD_PRELOAD
      help [COMMAND], --version, --help

    --fault 'SITE[:cpu=N][:state=S][:nth=N][:errno=E]' (repeatable) injects a failure
    into a command that runs the machine, e.g. --fault 'cpu_down:cpu=3:nth=1:errno=EBUSY'.
    --caps TEXT runs the command's process with these capabilities (libcap text, e.g. '=').
    --lang en|zh explains in English or Chinese (trace --explain/--brief, demo, run, draw html);
    without it, LC_ALL, LC_MESSAGES or LANG starting with zh choose Chinese.
    `jhsim help COMMAND` (or `jhsim COMMAND --help`) describes one command and its options.
    Usage errors exit with status 1, like the real tool.

    """

    /// The commands `help COMMAND` knows, for "did you mean".
    static let commands = ["lab", "enable", "disable", "console", "cell", "cpu", "cpus", "inmate", "dmesg", "cat", "ioctl", "trace",
                           "draw", "run", "demo", "faults", "quirks", "config", "bench", "exec", "preload-path", "help"]

    static let labOption = "  --lab DIR        the lab to use (default $JHSIM_LAB, else ./.jhsim)\n"
    static let machineOptions = labOption + """
      --fault RULE     make one primitive fail during this command (repeatable; `jhsim faults list`);
                       RULE is SITE[:cpu=N][:state=S][:nth=N][:after=N][:count=N][:prob=P][:errno=E]
      --caps TEXT      run the command's process with these capability sets (libcap text, e.g. '=')

    """

    /// The help of one command, for `jhsim help COMMAND` and `jhsim COMMAND --help`.
    static func usage(_ command: String) -> String? {
        switch command {
        case "lab": """
            usage: jhsim \(labInit)
                   jhsim lab reset
                   jhsim lab info

            A lab is a simulated machine that lives across invocations, saved in DIR/lab.json.
              init       create a lab (refuses to replace one without --force)
                --cpus N         1…4096 CPUs (default 4: the built-in qemu-x86 machine)
                --seed S         the seed of every random choice (default 0)
                --profile P      upstream (default: the driver's quirks as in e57d1eff) or fixed
                --kernel K       current (default: Linux ≥ 5.7, remove_cpu/add_cpu) or 5.6 (the seed's
                                 driver: cpu_down/cpu_up, which leave cpuN/online stale, and no
                                 architecture check); see Docs/tutorial.md
                --executor E     dispatch (default: vCPUs on Dispatch queues) or inline
                --cost NAME=NS   override one cost of the model, in virtual nanoseconds (Docs/cost-model.md)
                --force          replace an existing lab
              reset      power-cycle: the same parameters, an empty command log
              info       parameters, virtual clock, trace hash and the command log

            Options:
            \(labOption)
            """
        case "enable": """
            usage: jhsim enable [SYSCONFIG]

            JAILHOUSE_ENABLE: load the hypervisor with the system config SYSCONFIG (a file, or a
            built-in name: `jhsim config list`). Without SYSCONFIG, a 4-CPU lab uses the built-in
            qemu-x86. Linux keeps running, as the root cell.

            Options:
            \(machineOptions)
            """
        case "disable": """
            usage: jhsim disable

            JAILHOUSE_DISABLE: every cell must be gone; the hypervisor hands the CPUs back to Linux.

            Options:
            \(machineOptions)
            """
        case "console": """
            usage: jhsim console [-f|--follow]

            Print the hypervisor console. -f has nothing more to wait for in a simulation.

            Options:
            \(labOption)
            """
        case "cell": """
            usage: jhsim cell create CELLCONFIG
                   jhsim cell list [--json]
                   jhsim cell load {ID|[--name] NAME} {IMAGE | -s|--string STRING} [-a|--address ADDRESS] ...
                   jhsim cell start {ID|[--name] NAME} [--inmate KIND]
                   jhsim cell shutdown {ID|[--name] NAME}
                   jhsim cell destroy {ID|[--name] NAME}
                   jhsim cell stats {ID|[--name] NAME}

            As tools/jailhouse.c. CELLCONFIG is a file or a built-in name (`jhsim config list`).
            A cell argument that parses as a non-negative number is an id; --name forces a name.
              create     JAILHOUSE_CELL_CREATE: the driver takes the cell's CPUs from Linux
              list       the cells as sysfs shows them; --json for a machine-readable array
              load       JAILHOUSE_CELL_LOAD: -s loads a string (with its NUL), -a sets the address
              start      JAILHOUSE_CELL_START; --inmate KIND chooses the inmate first (see `jhsim help inmate`)
              shutdown   CELL_LOAD without images: stop the cell, park its CPUs
              destroy    JAILHOUSE_CELL_DESTROY: CPUs and memory go back to Linux
              stats      the cell's VM-exit counters

            Options (list and stats take only --lab):
            \(machineOptions)
            """
        case "cpu": """
            usage: jhsim cpu online|offline N

            Admin CPU hotplug: the write to /sys/devices/system/cpu/cpuN/online an administrator
            does by hand. On x86, CPU 0 has no such file.

            Options:
            \(machineOptions)
            """
        case "cpus": """
            usage: jhsim cpus [--json]

            One row per CPU: Linux's online and hotplug state, the owning cell, the hypervisor's
            state of the CPU and whether it failed.
              --json     an array of objects instead of the table

            Options:
            \(labOption)
            """
        case "inmate": """
            usage: jhsim inmate {ID|[--name] NAME} KIND

            Choose how the program inside a cell (its inmate) behaves from its next start:
              passive, cooperative, locking, unresponsive, crashing, comm-rev-mismatch

            Options:
            \(machineOptions)
            """
        case "ioctl": """
            usage: jhsim ioctl NR

            Issues ioctl(fd, NR, 0) on /dev/jailhouse from a privileged process, as a program
            would with a request number the jailhouse tool never sends. The driver's
            jailhouse_ioctl answers an unknown number with -EINVAL upstream (quirk 13) and
            -ENOTTY in the fixed profile. Prints the error as the tool prints ioctl errors.

            Options:
            \(machineOptions)
            """
        case "cat": """
            usage: jhsim cat /sys/PATH...

            Reads sysfs files of the simulated box as cat(1) would, and lists a sysfs
            directory. For example /sys/devices/system/cpu/cpu2/online (what Linux's CPU
            device says; the seed's Linux 5.6 driver leaves it stale),
            /sys/devices/jailhouse/mem_pool_used, /sys/bus/pci/devices/0000:00:1b.0/driver.

            Options:
            \(labOption)
            """
        case "dmesg": """
            usage: jhsim dmesg

            The simulated kernel log (printk ring buffer) since the lab booted, as `dmesg`
            prints it: "Created Jailhouse cell …", "smpboot: CPU 2 is now offline", ….

            Options:
            \(labOption)
            """
        case "trace": """
            usage: jhsim trace [--last N|--all] [--explain|--brief] [--chrome FILE.json] [--lang en|zh]

            The steps of the last command, with virtual timestamps.
              --last N         the last N commands
              --all            every command since the lab booted
              --explain        narrate each step and name the C function it mirrors
              --brief          only the key steps (layer crossings, ownership, the step that
                               decided an error), as the demo shows them
              --lang L         explain in English (en) or Chinese (zh); default from LC_ALL/LANG
              --chrome FILE    write the whole run in Chrome's trace format (opens in Perfetto)

            Options:
            \(labOption)
            """
        case "draw": """
            usage: jhsim draw timeline [-o FILE.svg]
                   jhsim draw html [-o FILE.html]
                   jhsim draw states [--format dot|svg] [-o FILE]

              timeline   CPU ownership over virtual time as SVG, one column per command
              html       one self-contained page (opens offline in any browser): the CPU lanes,
                         and a step control that walks the trace with each step's explanation,
                         its C function, the cell list and offlined_cpus at that step
                         (FILE.html#step=N opens it at step N)
              states     the CPU hotplug and cell state machines, as Graphviz DOT (default)
                         or as SVG (--format svg, or an -o file ending in .svg): no Graphviz needed
              -o FILE    write to FILE instead of standard output

            Options (timeline and html):
            \(labOption)
            """
        case "run": """
            usage: jhsim run SCENARIO [--profile upstream|fixed] [--kernel 5.6|current] [--trace] [--json] [--in-lab]

            Run a scenario (commands one per line, plus expect/say/signal/explain lines; see
            Docs/cli.md) on a fresh machine and print its transcript.
              --profile P  run on this quirk profile, whatever the scenario's `machine` line says
              --kernel K   run on this kernel (5.6: the seed's driver), whatever the `machine` line says
              --trace      print the trace of every command after the transcript
              --json       print a summary object instead of the transcript
              --in-lab     run on the lab (and save it) instead of a fresh machine
              --fault RULE add a fault rule to every command of the scenario
            Exit status: 0 when every command and expectation held; 1 at the first failed
            expectation, or at the first command that fails without an `expect errno` or
            `expect status` line checking it, or for a usage error.

            Options:
            \(labOption)
            """
        case "demo": """
            usage: jhsim demo [--lang en|zh]

            The guided tour on the built-in 4-CPU machine: enable, create, start, refuse,
            consent, destroy, disable, with the key steps explained. Needs no lab and no files.

            """
        case "faults": """
            usage: jhsim faults list [--json]
                   jhsim faults sweep [SCENARIO] [--profile upstream|fixed] [--sites A,B] [--errnos] [--depth 1|2] [--max-runs N] [--compare-profiles] [--check-expect] [--isolate] [--json]
                   jhsim faults campaign [SCENARIO | --workload random] --seed S --runs N [--rules-per-run K] [--sites A,B] [--mutate-configs] [--no-shrink] [--profile P] [--check-expect] [--isolate] [--json]
                   jhsim faults workload --seed S --run I [--profile P]
                   jhsim faults shrink [SCENARIO] --rule RULE... [--patch PATCH]... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--isolate] [--json]
                   jhsim faults run [SCENARIO] --rule RULE... [--patch PATCH]... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--trace|--explain] [--compare-profiles] [--json]
              Without SCENARIO: the built-in create/start/load/destroy/disable scenario.
              Exit status: \(faultsExitStatus)
              `jhsim faults SUBCOMMAND --help` explains one subcommand. Details: Docs/fault-injection.md.

            """
        case "quirks": """
            usage: jhsim quirks [--show N]

            The upstream quirks (the gaps jhsim reproduces, numbered as in
            jailhouse-behaviour.md §6.2) and whether the lab's profile has them; without a
            lab, both profiles. Then how to trigger each.

            Options:
              --show N   run quirk N's scenario on a fresh box in both profiles and show each
                         command's output side by side (upstream left, fixed right); configs
                         a trigger edits are made in memory from the built-ins
            \(labOption)
            """
        case "config": """
            usage: jhsim config list
                   jhsim config check SYSCONFIG [CELLCONFIG...]
                   jhsim config lint FILE... [--json]
                   jhsim config show FILE [--format text|json|yaml]
                   jhsim config build SOURCE -o FILE [--force]
                   jhsim config synth --cpus N [--cells K] [--max-cells M] [--yaml] [-o DIR]

            Built-in names (`jhsim config list`) work wherever a config file goes.
            `jhsim config SUB --help` describes each subcommand's options.

            """
        case "bench": """
            usage: jhsim bench churn [--cpus N] [--cell-cpus K] [--cycles M | --seconds S]
                                     [--executor dispatch|inline] [--processes P]
                                     [--trace off|hash|full] [--json]
                   jhsim bench sweep SCENARIO [--json]

            Measures the simulator itself (wall clock never enters a run). `jhsim bench --help`
            describes every option; Docs/benchmarks.md explains every figure.

            """
        case "help": """
            usage: jhsim help [COMMAND]

            Without COMMAND, every command in one screen; with it, that command and its options.

            """
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

    /// The exit statuses of `jhsim faults sweep|campaign|shrink|run`.
    static let faultsExitStatus = "0 clean, 1 usage, 2 invariant violation, 3 hang, 4 expectation failed, 5 trap (--isolate), 6 quirk (documented upstream behaviour, named), 7 liveness (the box does not recover), 8 vacuous (nothing tested, or the fault-free run fails)."

    /// `jhsim faults SUBCOMMAND --help`.
    public static func faultsUsage(_ sub: String) -> String? {
        let rule = "RULE is SITE[:cpu=N][:state=S][:nth=N][:after=N][:count=N][:prob=P][:errno=E] (see Docs/fault-injection.md; sites: jhsim faults list)."
        let body: String
        switch sub {
        case "list":
            body = """
                usage: jhsim faults list [--json]
                  Every fault site: its layer, default errno, whether it concerns a CPU, and what failing it means.
                  --json   one object per site (name, layer, errno, perCPU, meaning, states)
                """
        case "sweep":
            body = """
                usage: jhsim faults sweep [SCENARIO] [--profile upstream|fixed] [--sites A,B] [--errnos] [--depth 1|2] [--max-runs N] [--compare-profiles] [--check-expect] [--isolate] [--json]
                  One run per (site, hit) the fault-free run reaches, with exactly that hit failing.
                  --sites A,B          only these sites (exit 8 if the scenario reaches none of them)
                  --errnos             every plausible errno of a site, not only its default
                  --depth 2            every pair: each single fault, then every hit its run reaches after it
                  --max-runs N         at most N runs, sampled evenly across sites (pairs: across the whole list)
                  --compare-profiles   every case also on upstream and fixed; list the differences and the quirk behind each
                  --check-expect       judge the scenario's expect lines under faults too
                  --isolate            every run in a child process (a trap becomes outcome trap)
                  --json               one object: runs, clean, violations, quirks, hangs, crashes, cases, …
                """
        case "campaign":
            body = """
                usage: jhsim faults campaign [SCENARIO | --workload random] --seed S --runs N [--rules-per-run K] [--sites A,B] [--mutate-configs] [--no-shrink] [--profile P] [--check-expect] [--isolate] [--json]
                  N runs of random multi-fault plans drawn from seed S (swarm: each run a random subset of sites,
                  sites drawn uniformly, never the same plan twice; hits reached only under faults join as found).
                  Failing plans are shrunk, keeping the failure's signature.
                  --workload random    each run also draws its own commands from its seed (enable, cell
                                       create/load/start/shutdown/destroy, cpu online|offline, disable, signals);
                                       a failing run prints that workload as a scenario file its reproducer names
                  --mutate-configs     each run also mutates the configs the scenario passes (enable, cell create),
                                       from its own seed; reproducers carry the mutated bytes as --patch config@…
                                       (not with --workload random)
                  --isolate            every run in a child process (a trap becomes outcome trap)
                """
        case "workload":
            body = """
                usage: jhsim faults workload --seed S --run I [--profile P]
                  Run I's workload of `jhsim faults campaign --workload random --seed S` as a scenario file,
                  with what each command did fault-free written after it as expect lines.
                """
        case "shrink":
            body = """
                usage: jhsim faults shrink [SCENARIO] --rule RULE... [--patch PATCH]... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--isolate] [--json]
                  Shrinks a failing plan to a minimal one with the same failure (class, line, message):
                  prob= rules become the nth= rules that fired, then rules are dropped and made to fire earlier.
                  \(rule)
                """
        case "run":
            body = """
                usage: jhsim faults run [SCENARIO] --rule RULE... [--patch PATCH]... [--plan FILE] [--seed S] [--profile P] [--check-expect] [--trace|--explain] [--compare-profiles] [--json]
                  One run under a plan: the transcript, the liveness phase, what fired, what the checks found.
                  --trace / --explain  the run's trace (or its narration), injected faults marked with !!
                  --compare-profiles   run the plan on both profiles and name the quirk behind a difference
                  --patch config@CMD[:len=N][:0xOFF=HEX]…  edit the config command CMD passes (cut or extend to N bytes,
                                       then write HEX at each offset), as --mutate-configs reproducers do
                  \(rule)
                """
        default: return nil
        }
        return body + "\n  Exit status: \(faultsExitStatus)\n"
    }

    /// `jhsim help [COMMAND]`.
    static func help(_ args: ArraySlice<String>) throws(UsageError) -> String {
        guard let command = args.first else { return main }
        guard args.count == 1 else { throw UsageError(message: "usage: jhsim help [COMMAND]") }
        guard let text = usage(command) else {
            throw UsageError(message: "no help for '\(command)': there is no such command\(NearMiss.hint(for: command, among: commands))")
        }
        return text
    }
}

