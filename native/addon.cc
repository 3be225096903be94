// The audiencehub native addon: the JavaScript bindings of the identity
// index, the ingest line kernels and the id sort. Arguments are checked by
// the TypeScript wrappers (src/infra/native.ts and its callers); this layer
// only turns typed arrays into pointers and C++ exceptions into JS ones.
#include <napi.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <stdexcept>

#include "key_index.h"
#include "line_kernel.h"
#include "radix_sort.h"
#include "resolve_lines.h"

namespace {

using audiencehub::KeyIndex;
using audiencehub::LineKernel;

template <typename T>
T* dataOf(const Napi::Value& v) {
  Napi::TypedArray a = v.As<Napi::TypedArray>();
  return reinterpret_cast<T*>(static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset());
}

uint32_t u32(const Napi::Value& v) { return v.As<Napi::Number>().Uint32Value(); }

uint64_t u64(const Napi::Value& v) { return static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()); }

[[noreturn]] void rethrow(Napi::Env env, const std::exception& e) {
  if (dynamic_cast<const std::range_error*>(&e) != nullptr) throw Napi::RangeError::New(env, e.what());
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) throw Napi::Error::New(env, "out of memory for the identity index");
  throw Napi::Error::New(env, e.what());
}

// f(), with a C++ exception turned into the JavaScript error it stands for.
template <typename F>
decltype(auto) guarded(Napi::Env env, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    rethrow(env, e);
  }
}

class KeyIndexWrap : public Napi::ObjectWrap<KeyIndexWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "KeyIndex",
                       {
                           InstanceMethod<&KeyIndexWrap::AddChunk>("addChunk"),
                           InstanceMethod<&KeyIndexWrap::Size>("size"),
                           InstanceMethod<&KeyIndexWrap::SlotBytes>("slotBytes"),
                           InstanceMethod<&KeyIndexWrap::Reserve>("reserve"),
                           InstanceMethod<&KeyIndexWrap::Reindex>("reindex"),
                           InstanceMethod<&KeyIndexWrap::LookupMany>("lookupMany"),
                           InstanceMethod<&KeyIndexWrap::InsertMissing>("insertMissing"),
                       });
  }

  KeyIndexWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<KeyIndexWrap>(info) {
    index_ = guarded(info.Env(), [&] { return std::make_unique<KeyIndex>(u32(info[0]), u64(info[1])); });
  }

 private:
  void AddChunk(const Napi::CallbackInfo& info) { index_->addChunk(dataOf<uint8_t>(info[0])); }
  Napi::Value Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(index_->size())); }
  Napi::Value SlotBytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(index_->slotBytes())); }
  void Reserve(const Napi::CallbackInfo& info) {
    guarded(info.Env(), [&] { index_->reserve(u64(info[0])); });
  }
  void Reindex(const Napi::CallbackInfo& info) {
    guarded(info.Env(), [&] { index_->reindex(u32(info[0])); });
  }
  Napi::Value LookupMany(const Napi::CallbackInfo& info) {
    const uint32_t found = index_->lookupMany(dataOf<uint8_t>(info[0]), u32(info[1]), dataOf<uint32_t>(info[2]));
    return Napi::Number::New(info.Env(), found);
  }
  Napi::Value InsertMissing(const Napi::CallbackInfo& info) {
    const uint32_t done =
        guarded(info.Env(), [&] { return index_->insertMissing(dataOf<uint8_t>(info[0]), u32(info[1]), dataOf<uint32_t>(info[2]), u32(info[3])); });
    return Napi::Number::New(info.Env(), done);
  }

  std::unique_ptr<KeyIndex> index_;
};

class LineKernelWrap : public Napi::ObjectWrap<LineKernelWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LineKernel",
                       {
                           InstanceMethod<&LineKernelWrap::Run>("run"),
                           InstanceMethod<&LineKernelWrap::One>("one"),
                           InstanceMethod<&LineKernelWrap::Finish>("finish"),
                           InstanceMethod<&LineKernelWrap::FinishAsync>("finishAsync"),
                           InstanceMethod<&LineKernelWrap::Wait>("wait"),
                       });
  }

  // (kind, hexLength, capacity, lineNumbers, starts, ends, kinds, streams[], state)
  LineKernelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LineKernelWrap>(info) {
    audiencehub::KernelOutput out;
    out.capacity = u32(info[2]);
    out.lineNumbers = dataOf<double>(info[3]);
    out.starts = dataOf<int32_t>(info[4]);
    out.ends = dataOf<int32_t>(info[5]);
    out.kinds = dataOf<uint8_t>(info[6]);
    Napi::Array streams = info[7].As<Napi::Array>();
    for (uint32_t i = 0; i < streams.Length(); i++) out.streams.push_back(dataOf<uint8_t>(streams.Get(i)));
    state_ = dataOf<double>(info[8]);
    kernel_ = guarded(info.Env(), [&] { return std::make_unique<LineKernel>(static_cast<audiencehub::KernelKind>(u32(info[0])), u32(info[1]), std::move(out)); });
  }

 private:
  // run(buf, end): the rest is in the state array.
  void Run(const Napi::CallbackInfo& info) { kernel_->run(dataOf<uint8_t>(info[0]), u32(info[1]), state_); }
  // one(buf, start, end) -> taken
  Napi::Value One(const Napi::CallbackInfo& info) {
    const uint8_t* buf = dataOf<uint8_t>(info[0]);
    return Napi::Boolean::New(info.Env(), kernel_->one(buf + u32(info[1]), buf + u32(info[2]), state_));
  }
  void Finish(const Napi::CallbackInfo& info) { kernel_->finish(u32(info[0])); }
  // finishAsync(count) -> the set its digests go to
  Napi::Value FinishAsync(const Napi::CallbackInfo& info) {
    const uint32_t set = kernel_->current();
    kernel_->finishAsync(u32(info[0]));
    return Napi::Number::New(info.Env(), set);
  }
  void Wait(const Napi::CallbackInfo&) { kernel_->wait(); }

  std::unique_ptr<LineKernel> kernel_;
  double* state_ = nullptr;
};

void RadixSort(const Napi::CallbackInfo& info) {
  Napi::TypedArray data = info[0].As<Napi::TypedArray>();
  audiencehub::radixSort(dataOf<uint32_t>(info[0]), dataOf<uint32_t>(info[1]), data.ElementLength());
}

Napi::Value DedupeSorted(const Napi::CallbackInfo& info) {
  Napi::TypedArray data = info[0].As<Napi::TypedArray>();
  return Napi::Number::New(info.Env(), static_cast<double>(audiencehub::dedupeSorted(dataOf<uint32_t>(info[0]), data.ElementLength())));
}

// resolveLines(groupIds[], groupChunks[][], users, from, to, open, allocate, base, out Float64Array[5])
// -> the line it stopped at; out gets matched, added, unmatched, conflicts (accumulated).
Napi::Value ResolveLines(const Napi::CallbackInfo& info) {
  Napi::Array idArrays = info[0].As<Napi::Array>();
  Napi::Array chunkArrays = info[1].As<Napi::Array>();
  std::vector<const uint32_t*> ids;
  std::vector<audiencehub::Column> columns;
  for (uint32_t g = 0; g < idArrays.Length(); g++) {
    ids.push_back(dataOf<uint32_t>(idArrays.Get(g)));
    Napi::Array chunks = chunkArrays.Get(g).As<Napi::Array>();
    audiencehub::Column col;
    col.reserve(chunks.Length());
    for (uint32_t c = 0; c < chunks.Length(); c++) col.push_back(dataOf<uint32_t>(chunks.Get(c)));
    columns.push_back(std::move(col));
  }
  double* out = dataOf<double>(info[8]);
  audiencehub::LinePass pass;
  const uint32_t stop = audiencehub::resolveIdentityLines(ids, columns, dataOf<uint32_t>(info[2]), u32(info[3]), u32(info[4]), info[5].As<Napi::Boolean>(),
                                                          info[6].As<Napi::Boolean>(), u32(info[7]), pass);
  out[0] += static_cast<double>(pass.matched);
  out[1] += static_cast<double>(pass.added);
  out[2] += static_cast<double>(pass.unmatched);
  out[3] += static_cast<double>(pass.conflicts);
  return Napi::Number::New(info.Env(), stop);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

// Faults in the pages of a buffer on libuv's pool, as if written, without
// writing anything (MADV_POPULATE_WRITE, Linux 5.14+; elsewhere it does
// nothing). The dictionary allocates its next chunk ahead and has it
// populated there, so the ingest thread does not stop for a page fault every
// 4 KiB of new keys: on the CI VMs first touch is ~1 ms per MB.
class Populate : public Napi::AsyncWorker {
 public:
  Populate(Napi::Env env, Napi::TypedArray array)
      : Napi::AsyncWorker(env, "audiencehub:populate"), keep_(Napi::Persistent(array.As<Napi::Object>())) {
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t start = reinterpret_cast<uintptr_t>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset());
    const uintptr_t end = start + array.ByteLength();
    from_ = (start + page - 1) & ~(page - 1);
    to_ = end & ~(page - 1);
  }
  void Execute() override {
    if (to_ > from_) madvise(reinterpret_cast<void*>(from_), to_ - from_, MADV_POPULATE_WRITE);
  }
  void OnOK() override { keep_.Reset(); }
  void OnError(const Napi::Error&) override { keep_.Reset(); }

 private:
  Napi::ObjectReference keep_;
  uintptr_t from_ = 0;
  uintptr_t to_ = 0;
};

void PopulateLater(const Napi::CallbackInfo& info) { (new Populate(info.Env(), info[0].As<Napi::TypedArray>()))->Queue(); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("KeyIndex", KeyIndexWrap::Define(env));
  exports.Set("LineKernel", LineKernelWrap::Define(env));
  exports.Set("radixSort", Napi::Function::New<RadixSort>(env, "radixSort"));
  exports.Set("resolveLines", Napi::Function::New<ResolveLines>(env, "resolveLines"));
  exports.Set("populateLater", Napi::Function::New<PopulateLater>(env, "populateLater"));
  exports.Set("dedupeSorted", Napi::Function::New<DedupeSorted>(env, "dedupeSorted"));
  return exports;
}

}  // namespace

NODE_API_MODULE(audiencehub_native, Init)
