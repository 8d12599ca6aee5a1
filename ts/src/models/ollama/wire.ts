/** Ollama's `/api/chat` wire types and hosts. */
export const DEFAULT_OLLAMA_HOST = 'http://localhost:11434';
export const OLLAMA_CLOUD_HOST = 'https://ollama.com';
/** The SDK's placeholder id for providers without item ids. */
export const FAKE_ID = '__fake_id__';

export type Json = Record<string, unknown>;

/** One message of Ollama's chat API. */
export interface OllamaMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  thinking?: string;
  images?: string[];
  tool_calls?: { function: { name: string; arguments: Json } }[];
  tool_name?: string;
}

/** One reply (or one NDJSON chunk) of `/api/chat`. */
export interface OllamaChatResponse {
  model?: string;
  message?: Partial<OllamaMessage>;
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
}
