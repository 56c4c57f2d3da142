# Read by CMake after each project() of llama-cpp-python's build (CMAKE_PROJECT_INCLUDE, set by the Makefile).
# llama-cpp-python forces llama.cpp's `common` library on, for its multimodal library; autodev's build leaves that
# library out (LLAVA_BUILD=OFF) and the Python package never loads `common`, which with its HTTP client is half of
# everything compiled. Turning it off again here, after llama-cpp-python's own setting, halves the build.
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "llama: build common utils library" FORCE)
