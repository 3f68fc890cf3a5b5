# descent_module(NAME DEPS targets...)
# Builds static library descent_NAME from src/NAME/*.cpp with public headers under
# include/descent/NAME/. Every module appends itself to DESCENT_MODULES so that the
# umbrella target `descent` and the tests see it.
set(DESCENT_MODULES "" CACHE INTERNAL "")
function(descent_module name)
  cmake_parse_arguments(M "" "" "DEPS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${name}/*.cpp)
  if(NOT sources)
    # Not written yet: an interface target keeps the dependency chain intact.
    add_library(descent_${name} INTERFACE)
    target_link_libraries(descent_${name} INTERFACE ${M_DEPS})
    return()
  endif()
  add_library(descent_${name} STATIC ${sources})
  target_include_directories(descent_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                             PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(descent_${name} PUBLIC ${M_DEPS})
  set(DESCENT_MODULES ${DESCENT_MODULES} descent_${name} CACHE INTERNAL "")
endfunction()
