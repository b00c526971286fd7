# Cross build for aarch64 Linux (NEON) with Debian's g++-aarch64-linux-gnu; binaries run under
# qemu-user (no binfmt_misc needed: ctest and doctest discovery go through the emulator).
#   cmake -S . -B build/aarch64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DQKERN_BUILD_BENCH=OFF -DQKERN_BUILD_EXAMPLES=OFF
# Header-only dependencies (doctest, xsimd, nlohmann_json) come from the build host's packages;
# prebuilt libraries (rapidcheck, benchmark) are x86_64 only, so what needs them is left out.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)
