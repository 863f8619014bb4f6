/**
 * A loaded local model's placement as the start-up log line shows it (the `placement` field of the
 * chat and embedding engines' banners): where it runs, layers offloaded of all, flash attention,
 * the KV cache's type, and the estimated memory in human units. `/v1/models` gives the same
 * numbers exact (http/routes/models.ts).
 */
import { formatByteSize } from "../../config/byte-size.ts";
import type { ModelPlacementInfo } from "../types.ts";

export function placementBanner(placement: ModelPlacementInfo): Record<string, string | boolean> {
  return {
    device: placement.device,
    gpuLayers: `${placement.gpuLayers}/${placement.totalLayers}`,
    flashAttention: placement.flashAttention,
    kvCacheType: placement.kvCacheType,
    ram: formatByteSize(placement.memory.ram),
    vram: formatByteSize(placement.memory.vram),
  };
}
