# descent_module(NAME [WHOLE_ARCHIVE] DEPS targets...)
# Builds static library descent_NAME from src/NAME/*.cpp with public headers under
# include/descent/NAME/. Every module appends itself to DESCENT_MODULES (targets) and
# DESCENT_MODULE_NAMES (names, in declaration order) so that the umbrella target `descent`
# and tests/CMakeLists.txt see it.
# WHOLE_ARCHIVE: the sources go into descent_NAME_archive, and descent_NAME links it whole
# into every program, so that objects nothing references (the experiments' static
# registrars) are not dropped by the linker.
#
# Layering is enforced by the include path: a module's target exposes only its own headers
# (a staging folder under the build tree, <build>/module_include/NAME/descent/NAME, linked to
# include/descent/NAME) and, through its PUBLIC DEPS, those of the modules below it. An
# upward or sideways #include "descent/OTHER/..." is a compile error, not a convention.
# Private headers (src/NAME/*.hpp) are visible to their own module only.
set(DESCENT_MODULES "" CACHE INTERNAL "")
set(DESCENT_MODULE_NAMES "" CACHE INTERNAL "")
function(descent_module name)
  cmake_parse_arguments(M "WHOLE_ARCHIVE" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  if(NOT sources)
    message(FATAL_ERROR "descent_module(${name}): src/${name}/ has no .cpp sources. Declare a "
                        "module in the top CMakeLists.txt when it has sources (and tests in "
                        "tests/${name}/), not before.")
  endif()
  if(NOT IS_DIRECTORY ${PROJECT_SOURCE_DIR}/include/descent/${name})
    message(FATAL_ERROR "descent_module(${name}): include/descent/${name}/ is missing; a module's "
                        "public headers live there.")
  endif()
  set(staged ${PROJECT_BINARY_DIR}/module_include/${name})
  file(MAKE_DIRECTORY ${staged}/descent)
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/include/descent/${name} ${staged}/descent/${name} SYMBOLIC)
  # include/descent/NAME.hpp, an umbrella header of the module (core.hpp), travels with it.
  if(EXISTS ${PROJECT_SOURCE_DIR}/include/descent/${name}.hpp)
    file(CREATE_LINK ${PROJECT_SOURCE_DIR}/include/descent/${name}.hpp ${staged}/descent/${name}.hpp
         SYMBOLIC)
  endif()
  set(lib descent_${name})
  if(M_WHOLE_ARCHIVE)
    set(lib descent_${name}_archive)
    add_library(descent_${name} INTERFACE)
    target_link_libraries(descent_${name} INTERFACE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${lib}>")
  endif()
  add_library(${lib} STATIC ${sources})
  target_include_directories(${lib} PUBLIC ${staged} PRIVATE ${PROJECT_SOURCE_DIR}/src/${name})
  target_link_libraries(${lib} PUBLIC ${M_DEPS})
  set(DESCENT_MODULES ${DESCENT_MODULES} descent_${name} CACHE INTERNAL "")
  set(DESCENT_MODULE_NAMES ${DESCENT_MODULE_NAMES} ${name} CACHE INTERNAL "")
endfunction()
