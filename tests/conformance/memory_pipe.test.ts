import { memoryPipe } from "../../mod.ts";
import { streamConformance } from "./streams.ts";

streamConformance({
  name: "memoryPipe",
  pair: () => Promise.resolve(memoryPipe()),
  resets: true,
});
