# Installs the build tree into a scratch prefix, then configures, builds and
# runs tests/package/ against it. -DBUILD=<build dir> -DSOURCE=<source dir>
# [-DCONSUMER_FLAGS=<compile and link flags of the consumer, e.g. sanitizers>].
set(work "${BUILD}/package-test")
file(REMOVE_RECURSE "${work}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD}" --prefix "${work}/prefix"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
# The API reference is installed with the headers, and documents the fields
# of the options and result structs (one of each, by name).
if(EXPECT_API_REFERENCE)
  set(api "${work}/prefix/share/doc/implicit/api")
  if(NOT EXISTS "${api}/index.html")
    message(FATAL_ERROR "cmake --install installed no API reference (${api}/index.html)")
  endif()
  file(GLOB_RECURSE api_pages "${api}/*.html")
  set(found_fields "")
  foreach(page IN LISTS api_pages)
    file(READ "${page}" text)
    foreach(field max_forward_sensitivity jacobian_products progress_window)
      string(FIND "${text}" "${field}" at)
      if(NOT at EQUAL -1)
        list(APPEND found_fields ${field})
      endif()
    endforeach()
  endforeach()
  foreach(field max_forward_sensitivity jacobian_products progress_window)
    if(NOT field IN_LIST found_fields)
      message(FATAL_ERROR "the installed API reference does not document ${field}")
    endif()
  endforeach()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE}/tests/package" -B "${work}/build"
                        -DCMAKE_PREFIX_PATH=${work}/prefix -DCMAKE_BUILD_TYPE=Release
                        -DIMPLICIT_EXAMPLE=${SOURCE}/examples/user_model.cpp
                        "-DCMAKE_CXX_FLAGS=${CONSUMER_FLAGS}"
                        "-DCMAKE_EXE_LINKER_FLAGS=${CONSUMER_FLAGS}"
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${work}/build" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
execute_process(COMMAND "${work}/build/user_model" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the consumer's user_model failed: ${rc}")
endif()
execute_process(COMMAND "${work}/build/user_model_precompiled" RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the consumer's user_model_precompiled failed: ${rc}")
endif()
if(EXISTS "${work}/build/user_model_precompiled_native")
  execute_process(COMMAND "${work}/build/user_model_precompiled_native" RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "the consumer's user_model_precompiled_native (-march=native against "
                        "the generic implicit::precompiled) failed: ${rc}")
  endif()
endif()
