// The built-in task world (DESIGN §3.8): scenes, tasks, rendering, the judge, and the tokenizers.
import ParaRLCore
