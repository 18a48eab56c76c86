"""The seccomp filter bubblewrap installs in every sandbox (x86_64 only).

About fifty system calls fail with EPERM (ptrace, keyrings, BPF, perf, io_uring, userfaultfd,
mount and namespace calls, modules, kexec, ...; see ``_BLOCKED_X86_64``); calls of another ABI
(i386 ``int 0x80``, x32) fail whole.
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
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000


def seccomp_program() -> bytes | None:
    """A classic-BPF seccomp filter (``struct sock_filter[]``) for bubblewrap's ``--seccomp``.

    Blocked calls fail with EPERM; calls of another ABI (i386 ``int 0x80``, x32) fail whole.
    Only built for x86_64, where it is tested; elsewhere ``None`` (no filter).
    """
    import platform
    import struct

    if platform.machine() != "x86_64":
        return None
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    numbers = sorted(set(_BLOCKED_X86_64.values()))
    deny_at = 4 + len(numbers) + 1
    code: list[tuple[int, int, int, int]] = [
        (ld_abs, 0, 0, 4),  # seccomp_data.arch
        (jeq, 0, deny_at - 2, _AUDIT_ARCH_X86_64),
        (ld_abs, 0, 0, 0),  # seccomp_data.nr
        (jge, deny_at - 4, 0, _X32_SYSCALL_BIT),
    ]
    for i, nr in enumerate(numbers):
        at = 4 + i
        code.append((jeq, deny_at - (at + 1), 0, nr))
    code += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
    return b"".join(struct.pack("=HBBI", *ins) for ins in code)
