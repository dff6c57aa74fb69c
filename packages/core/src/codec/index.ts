export {
  DJANGO_SESSION_SALT,
  DJANGO_SIGNED_COOKIES_SALT,
  type DjangoCodecOptions,
  djangoCodec,
  djangoSessionKeySalt,
} from "./django-codec.js";
export {
  JSON_CODEC_MAX_BYTES,
  JSON_CODEC_MAX_DEPTH,
  JSON_CODEC_TAG,
  type JsonCodecOptions,
  jsonCodec,
} from "./json-codec.js";
