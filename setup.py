"""The one compiled part: torc.worker._spawn (see its C file). Everything else is in
pyproject.toml. optional=True: where it cannot build (not Linux on x86-64 or AArch64, no C
compiler) torc installs anyway and the worker spawns jobs with os.posix_spawn."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("torc.worker._spawn", ["torc/worker/_spawn.c"],
                             depends=["torc/worker/_spawn_child.h"],
                             extra_compile_args=["-O2", "-Wall", "-Wextra"],
                             optional=True)])
