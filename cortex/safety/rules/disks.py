"""Formatting, partitioning and wiping disks: nothing here is ever undone."""

from __future__ import annotations

from cortex.safety.protected import is_image_file, is_raw_device
from cortex.safety.rules import Context, block, confirm, rule, split_options
from cortex.safety.verdict import Finding


def _devices(ctx: Context) -> list[str]:
    return [p for w in ctx.args for p in ctx.paths(w) if p and p.startswith("/dev/")]


IMAGE_SUFFIXES = (".img", ".iso", ".raw", ".bin", ".image")


def _on_images(ctx: Context) -> bool:
    """Every target is a regular file in a home or temporary directory (a disk image for a VM or a test), not
    a device: formatting it erases only that file. Words that name no path (labels, sizes) are not targets;
    a line with no known target is not on an image."""
    named = [w for w in ctx.args if not w.text.startswith("-") and ("/" in w.text or w.text.startswith("~"))]
    named += [w for w in ctx.args if w.text.endswith(IMAGE_SUFFIXES) and w not in named]
    paths = [p for w in named for p in ctx.paths(w)]
    return bool(paths) and all(p is not None and is_image_file(p) for p in paths)


@rule("mkfs", "mkswap", "mkdosfs", "mkntfs", "mkexfatfs")
def mkfs(ctx: Context) -> list[Finding]:
    if ctx.inv.name == "mkswap" and not any(is_raw_device(p) for p in _devices(ctx)):
        return [confirm("turns a file into swap space")]
    if _on_images(ctx):
        return [confirm(f"{ctx.inv.name} formats a disk image file")]
    return [block(f"{ctx.inv.name} formats a filesystem, erasing everything on the target", "critical")]


@rule("wipefs")
def wipefs(ctx: Context) -> list[Finding]:
    flags, _ = split_options(ctx.args, frozenset({"-o", "--offset", "-t", "--types"}))
    if flags & {"-a", "--all", "-o", "--offset"}:
        if _on_images(ctx):
            return [confirm("wipefs erases the signatures of a disk image file")]
        return [block("wipefs erases filesystem and partition signatures", "critical")]
    return []  # without -a it only lists signatures


READ_ONLY_FLAGS = {
    "fdisk": {"-l", "--list", "-x", "--list-details"},
    "sfdisk": {"-l", "--list", "-d", "--dump", "-J", "--json", "-V", "--verify", "-s", "--show-size", "-g"},
    "gdisk": {"-l"},
    "sgdisk": {"-p", "--print", "-v", "--verify", "-i", "--info", "-P", "--pretend"},
    "parted": {"-l", "--list"},
    "cfdisk": set(),
}


@rule(*READ_ONLY_FLAGS)
def partition(ctx: Context) -> list[Finding]:
    flags, operands = split_options(
        ctx.args, frozenset({"-s", "--script"}) if ctx.inv.name != "parted" else frozenset()
    )
    name = ctx.inv.name
    if flags & READ_ONLY_FLAGS[name] and not (name == "sgdisk" and flags - READ_ONLY_FLAGS[name] - {"-s"}):
        return []
    commands = [w.text for w in operands[1:]] if name == "parted" else []
    if name == "parted" and commands and set(commands) <= {"print", "p", "unit", "s", "B", "MB", "GB", "free"}:
        return []
    if _on_images(ctx):
        return [confirm(f"{name} rewrites the partition table of a disk image file")]
    return [block(f"{name} rewrites a partition table: the data on the disk becomes unreachable", "critical")]


DESTRUCTIVE_SUBCOMMANDS = {
    "nvme": {"format", "sanitize", "delete-ns", "write-zeroes"},
    "cryptsetup": {"luksFormat", "erase", "luksErase", "reencrypt", "luksKillSlot", "luksRemoveKey"},
    "zpool": {"destroy", "labelclear"},
    "zfs": {"destroy"},
    "mdadm": {"--zero-superblock", "--create", "-C"},
    "dmsetup": {"remove_all", "wipe_table"},
    "lvm": {"lvremove", "vgremove", "pvremove"},
}


@rule("blkdiscard", "pvremove", "vgremove", "lvremove")
def discard(ctx: Context) -> list[Finding]:
    return [block(f"{ctx.inv.name} destroys the data of a disk or volume", "critical")]


@rule(*DESTRUCTIVE_SUBCOMMANDS)
def volume_tool(ctx: Context) -> list[Finding]:
    words = {w.text for w in ctx.args}
    if words & DESTRUCTIVE_SUBCOMMANDS[ctx.inv.name]:
        return [block(f"{ctx.inv.name} erases a disk, volume or pool", "critical")]
    return [confirm(f"{ctx.inv.name} changes storage")]


@rule("hdparm")
def hdparm(ctx: Context) -> list[Finding]:
    dangerous = ("--security-erase", "--security-erase-enhanced", "--trim-sector-ranges", "--write-sector")
    dangerous += ("--make-bad-sector", "--fwdownload", "--dco-restore", "--security-set-pass")
    if any(w.text.startswith(dangerous) for w in ctx.args):
        return [block("hdparm erases or rewrites the drive itself", "critical")]
    return [confirm("hdparm changes drive settings")]


@rule("badblocks", "flashrom")
def write_test(ctx: Context) -> list[Finding]:
    flags, _ = split_options(ctx.args)
    if flags & {"-w", "--write", "-E", "--erase"}:
        return [block(f"{ctx.inv.name} overwrites the whole device or firmware", "critical")]
    return [confirm(f"{ctx.inv.name} reads a device")]


@rule("mount", "umount", "swapon", "swapoff", "losetup", "fsck", "e2fsck", "tune2fs", "resize2fs", "xfs_repair")
def storage_admin(ctx: Context) -> list[Finding]:
    if ctx.inv.name == "mount" and not ctx.args:
        return []
    return [confirm(f"{ctx.inv.name} changes mounted filesystems or disks")]
