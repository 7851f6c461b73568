"""Property photos: validation, storage, processing into renditions, uploads.

One door per rule: every way a photo comes in (the admin, the signed upload flow, the
demo seed) goes through `validation.photo_inspect` before anything is stored or
decoded, and through `processing.photo_process` before anything is shown. See
docs/photos.md.
"""
