# Debian's xsimd 8.1 CMake target links to a target named `xtl` that its package never
# defines (see TOOLCHAIN.md §1); xtl-dev provides it, otherwise define an empty one.
if(NOT TARGET xtl)
  find_package(xtl QUIET CONFIG)
  if(NOT TARGET xtl)
    add_library(xtl INTERFACE IMPORTED)
  endif()
endif()
find_package(xsimd CONFIG)
