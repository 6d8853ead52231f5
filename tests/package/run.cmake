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
