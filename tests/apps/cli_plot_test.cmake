# `implicit deq --plot`: the report's residual plot (all four solvers) and
# an --input run's (one solver), as .png and .svg, must be non-empty files of
# that format; another extension is refused before any solve. Without
# gnuplot the command says "gnuplot not found" (exit 2), which ctest
# reports as a skip (SKIP_REGULAR_EXPRESSION).
cmake_policy(VERSION 3.25)
set(input ${WORK}/plot_input.json)
file(WRITE ${input} "{\"W\": [[0.1, -0.2], [0.3, 0.05]], \"x\": [0.5, -1.0]}")
foreach(ext png svg)
  set(report ${WORK}/deq_residuals.${ext})
  set(single ${WORK}/deq_input_residuals.${ext})
  file(REMOVE ${report} ${single})
  execute_process(COMMAND ${IMPLICIT} deq --plot ${report} OUTPUT_VARIABLE out
                  ERROR_VARIABLE err RESULT_VARIABLE code)
  if(err MATCHES "gnuplot not found")
    message(STATUS "gnuplot not found: deq --plot not checked")
    return()
  endif()
  if(NOT code EQUAL 0 OR NOT out MATCHES "residual plot: ")
    message(FATAL_ERROR "deq --plot ${report}: exit ${code}: ${err}\n${out}")
  endif()
  execute_process(COMMAND ${IMPLICIT} deq --input ${input} --solver broyden --plot ${single}
                  OUTPUT_VARIABLE doc ERROR_VARIABLE err RESULT_VARIABLE code)
  string(JSON plotted ERROR_VARIABLE no_plot GET "${doc}" plot)
  if(NOT code EQUAL 0 OR NOT plotted STREQUAL single)
    message(FATAL_ERROR "deq --input --plot ${single}: exit ${code}, plot '${plotted}': ${err}")
  endif()
  foreach(file ${report} ${single})
    file(SIZE ${file} size)
    file(READ ${file} head LIMIT 512 HEX)
    # 89504e47: the PNG signature; 3c737667: "<svg".
    if(ext STREQUAL "png")
      set(magic "^89504e47")
    else()
      set(magic "3c737667")
    endif()
    if(NOT size GREATER 1000 OR NOT head MATCHES "${magic}")
      message(FATAL_ERROR "${file}: ${size} bytes, not a ${ext}")
    endif()
    message(STATUS "${file}: ${size} bytes")
  endforeach()
endforeach()
execute_process(COMMAND ${IMPLICIT} deq --plot ${WORK}/residuals.jpg OUTPUT_VARIABLE out
                ERROR_VARIABLE err RESULT_VARIABLE code)
if(NOT code EQUAL 2 OR NOT err MATCHES "\\.png or \\.svg" OR out MATCHES "Reference problem")
  message(FATAL_ERROR "deq --plot residuals.jpg: exit ${code}, expected 2 before solving: ${err}")
endif()
