{
  # The audiencehub native addon (native/): built by `npm ci` / `npm install`
  # through node-gyp, like better-sqlite3, and loaded by src/infra/native.ts.
  'targets': [
    {
      'target_name': 'audiencehub_native',
      'sources': [
        'native/addon.cc',
        'native/key_index.cc',
        'native/line_kernel.cc',
        'native/phone_digests.cc',
        'native/radix_sort.cc',
        'native/resolve_lines.cc',
      ],
      'include_dirs': ["<!(node -p \"require('node-addon-api').include_dir\")"],
      'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_DISABLE_DEPRECATED'],
      'cflags!': ['-fno-exceptions'],
      'cflags_cc!': ['-fno-exceptions', '-fno-rtti'],
      'cflags_cc': ['-std=c++17', '-O3', '-fexceptions', '-pthread'],
      'ldflags': ['-pthread'],
      'xcode_settings': {
        'GCC_ENABLE_CPP_EXCEPTIONS': 'YES',
        'GCC_ENABLE_CPP_RTTI': 'YES',
        'OTHER_CPLUSPLUSFLAGS': ['-std=c++17', '-O3'],
      },
    },
  ],
}
