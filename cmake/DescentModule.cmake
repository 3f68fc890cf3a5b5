# descent_module(NAME [WHOLE_ARCHIVE] DEPS targets...)
# Builds static library descent_NAME from src/NAME/*.cpp with public headers under
# include/descent/NAME/. Every module appends itself to DESCENT_MODULES so that the
# umbrella target `descent` and the tests see it.
# WHOLE_ARCHIVE: the sources go into descent_NAME_archive, and descent_NAME links it whole
# into every program, so that objects nothing references (the experiments' static
# registrars) are not dropped by the linker.
set(DESCENT_MODULES "" CACHE INTERNAL "")
function(descent_module name)
  cmake_parse_arguments(M "WHOLE_ARCHIVE" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  if(NOT sources)
    # Not written yet: an interface target keeps the dependency chain intact.
    add_library(descent_${name} INTERFACE)
    target_link_libraries(descent_${name} INTERFACE ${M_DEPS})
    return()
  endif()
  set(lib descent_${name})
  if(M_WHOLE_ARCHIVE)
    set(lib descent_${name}_archive)
    add_library(descent_${name} INTERFACE)
    target_link_libraries(descent_${name} INTERFACE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${lib}>")
  endif()
  add_library(${lib} STATIC ${sources})
  target_include_directories(${lib} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                    PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${lib} PUBLIC ${M_DEPS})
  set(DESCENT_MODULES ${DESCENT_MODULES} descent_${name} CACHE INTERNAL "")
endfunction()
