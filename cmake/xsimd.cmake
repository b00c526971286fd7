# Debian's xsimd 8.1 CMake target links to a target named `xtl` that its package never
# defines (see TOOLCHAIN.md §1); xtl-dev provides it, otherwise define an empty one.
if(NOT TARGET xtl)
  find_package(xtl QUIET CONFIG)
  if(NOT TARGET xtl)
    add_library(xtl INTERFACE IMPORTED)
  endif()
endif()
# xsimd is header-only and arch-independent, but Debian installs its config under the host's
# multiarch folder, which a cross build does not search: point it there.
set(QKERN_HOST_XSIMD_DIR /usr/lib/${CMAKE_HOST_SYSTEM_PROCESSOR}-linux-gnu/cmake/xsimd)
if(NOT TARGET xsimd)
  find_package(xsimd CONFIG HINTS ${QKERN_HOST_XSIMD_DIR})
endif()
