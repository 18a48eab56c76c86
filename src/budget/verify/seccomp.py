"""The seccomp filter bubblewrap installs in every sandbox (x86_64 only).

About fifty system calls fail with EPERM (ptrace, keyrings, BPF, perf, io_uring, userfaultfd,
mount and namespace calls, modules, kexec, ...; see ``_BLOCKED_X86_64``); calls of another ABI
(i386 ``int 0x80``, x32) fail whole.

A second list, ``_SELF_ONLY_X86_64``, may only act on the calling process: resource limits
(``prlimit64``), priority (``setpriority``, ``ioprio_set``) and scheduling (``sched_set*``).  The
kernel lets any process of the same uid *lower* another's limits or priority without
capabilities and without ptrace access, so without this a sample could shrink the limits of
the sandbox's long-lived harness (and so of every later job on that worker), renice it, pin it to
one CPU, or use those values to pass data to a later sample.  Such a call fails with EPERM
unless its target is the caller (pid 0; for ``setpriority``/``ioprio_set``: "this process").
"""

from __future__ import annotations

# System calls no verified program needs and that widen the kernel attack surface or reach
# outside the sandbox (x86_64 numbers, arch/x86/entry/syscalls/syscall_64.tbl): debugging other
# processes, keyrings, BPF, perf, io_uring, userfaultfd, mounts and namespaces, modules, kexec,
# file handles, clocks, swap, quotas, accounting, the kernel log, fd theft.
_BLOCKED_X86_64 = {
    "ptrace": 101, "syslog": 103, "personality": 135, "vhangup": 153, "pivot_root": 155,
    "adjtimex": 159, "chroot": 161, "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166,
    "swapon": 167, "swapoff": 168, "reboot": 169, "iopl": 172, "ioperm": 173, "init_module": 175,
    "delete_module": 176, "quotactl": 179, "lookup_dcookie": 212, "clock_settime": 227,
    "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272,
    "perf_event_open": 298, "fanotify_init": 300, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "clock_adjtime": 305, "setns": 308, "process_vm_readv": 310,
    "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "kexec_file_load": 320,
    "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "pidfd_getfd": 438, "mount_setattr": 442,
}  # fmt: skip
# Calls that may only target the calling process: (name, number, {argument index: required
# value}); each argument is compared on its low 32 bits, as the kernel reads a pid_t or an int.
# PRIO_PROCESS = 0 and IOPRIO_WHO_PROCESS = 1 (include/uapi/linux/resource.h, ioprio.h).
_SELF_ONLY_X86_64 = (
    ("setpriority", 141, {0: 0, 1: 0}),
    ("sched_setparam", 142, {0: 0}),
    ("sched_setscheduler", 144, {0: 0}),
    ("sched_setaffinity", 203, {0: 0}),
    ("ioprio_set", 251, {0: 1, 1: 0}),
    ("prlimit64", 302, {0: 0}),
    ("sched_setattr", 314, {0: 0}),
)
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_ARGS_OFFSET = 16  # offsetof(struct seccomp_data, args); args[i] at 16 + 8 * i, low half first


def seccomp_program() -> bytes | None:
    """A classic-BPF seccomp filter (``struct sock_filter[]``) for bubblewrap's ``--seccomp``.

    Blocked calls fail with EPERM; calls of another ABI (i386 ``int 0x80``, x32) fail whole;
    the self-only calls fail with EPERM when aimed at another process.  Only built for x86_64,
    where it is tested; elsewhere ``None`` (no filter).
    """
    import platform
    import struct

    if platform.machine() != "x86_64":
        return None
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    numbers = sorted(set(_BLOCKED_X86_64.values()))
    # each self-only block: load nr, skip the block unless it matches, then per checked argument
    # load its low half and go to the block's deny unless it is the required value
    blocks: list[list[tuple[int, int, int, int]]] = []
    for _, nr, required in _SELF_ONLY_X86_64:
        checks = sorted(required.items())
        size = 2 + 2 * len(checks) + 2  # ld nr, jeq nr, (ld arg, jeq value) * n, ret allow, ret deny
        block = [(ld_abs, 0, 0, 0), (jeq, 0, size - 2, nr)]
        for index, value in checks:
            at = len(block) + 1  # the jeq's position in the block
            block += [(ld_abs, 0, 0, _ARGS_OFFSET + 8 * index), (jeq, 0, size - 1 - (at + 1), value)]
        block += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
        assert len(block) == size
        blocks.append(block)
    deny_at = 4 + len(numbers) + sum(len(b) for b in blocks) + 1
    code: list[tuple[int, int, int, int]] = [
        (ld_abs, 0, 0, 4),  # seccomp_data.arch
        (jeq, 0, deny_at - 2, _AUDIT_ARCH_X86_64),
        (ld_abs, 0, 0, 0),  # seccomp_data.nr
        (jge, deny_at - 4, 0, _X32_SYSCALL_BIT),
    ]
    for i, nr in enumerate(numbers):
        at = 4 + i
        code.append((jeq, deny_at - (at + 1), 0, nr))
    for block in blocks:
        code += block
    code += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
    assert len(code) == deny_at + 1 and all(jt < 256 and jf < 256 for _, jt, jf, _ in code)
    return b"".join(struct.pack("=HBBI", *ins) for ins in code)
